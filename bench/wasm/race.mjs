// The WebAssembly engine against the SoundFont synthesizers of the web,
// in one run under Node: js-synthesizer (FluidSynth 2.4.6 compiled to
// WebAssembly) and spessasynth_core (JavaScript), each rendering the same
// General MIDI files with the same SoundFont at 44.1 kHz in 128-frame
// blocks (an AudioWorklet's quantum), effects on as each has them by
// default (Auralis: the settings of `render --midi`). Prints each one's
// real-time factor per file and Auralis's ratio to the faster peer.
//
//   (cd auralis-wasm && cargo build --release --features midi --target-dir target/midi)
//   (cd bench/wasm && npm ci)
//   node bench/wasm/race.mjs [--seconds 30] [--font FILE] MIDI...
//
// Defaults: FluidR3_GM (Debian's fluid-soundfont-gm) and two files of
// Debian's openttd-openmsx.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { BasicMIDI, SoundBankLoader, SpessaSynthProcessor, SpessaSynthSequencer } from "spessasynth_core";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const RATE = 44100;
const BLOCK = 128;

function options() {
  const args = process.argv.slice(2);
  const o = {
    seconds: 30,
    font: "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    wasm: join(here, "../../auralis-wasm/target/midi/wasm32-unknown-unknown/release/auralis_wasm.wasm"),
    files: [],
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seconds") o.seconds = Number(args[++i]);
    else if (args[i] === "--font") o.font = args[++i];
    else if (args[i] === "--wasm") o.wasm = args[++i];
    else o.files.push(args[i]);
  }
  if (o.files.length === 0) {
    const dir = "/usr/share/games/openttd/baseset/openmsx";
    o.files = [join(dir, "be_sharp_bw_redfarn.mid"), join(dir, "chemistry_lab.mid")];
  }
  return o;
}

/** Channel messages of `midi` as [seconds, status, data1, data2], in time order. */
function timeline(midi) {
  const events = [];
  for (const track of midi.tracks) {
    for (const e of track.events) {
      const status = e.statusByte;
      if (status < 0x80 || status >= 0xf0) continue;
      events.push([midi.midiTicksToSeconds(e.ticks), status, e.data[0] ?? 0, e.data[1] ?? 0]);
    }
  }
  return events.sort((a, b) => a[0] - b[0]);
}

/** Sum of squares of what a renderer wrote, to show it was not silence. */
function energy(l, r, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += l[i] * l[i] + r[i] * r[i];
  return s;
}

/** Times `seconds` of blocks: `step(frame, n)` renders `n` frames from
 * `frame` and returns its left and right output. */
function run(seconds, step) {
  const total = Math.floor(seconds * RATE);
  let sum = 0;
  const start = performance.now();
  for (let frame = 0; frame < total; frame += BLOCK) {
    const n = Math.min(BLOCK, total - frame);
    const [l, r] = step(frame, n);
    sum += energy(l, r, n);
  }
  return { ms: performance.now() - start, energy: sum };
}

async function auralis(o, font, midi, seconds) {
  const { instance } = await WebAssembly.instantiate(await readFile(o.wasm), {});
  const e = instance.exports;
  if (typeof e.auralis_synth_init !== "function") {
    throw new Error(`${o.wasm} has no MIDI synthesizer: build auralis-wasm with --features midi`);
  }
  const at = e.auralis_font_reserve(font.length);
  new Uint8Array(e.memory.buffer, at, font.length).set(font);
  const status = e.auralis_synth_init(RATE, at, font.length);
  if (status !== 0) throw new Error(`auralis_synth_init: ${status}`);
  const events = timeline(midi);
  let next = 0;
  return run(seconds, (frame, n) => {
    while (next < events.length && events[next][0] * RATE < frame + n) {
      const [, s, a, b] = events[next++];
      e.auralis_synth_event(s, a, b);
    }
    e.auralis_synth_render(n);
    const mem = e.memory.buffer;
    return [new Float32Array(mem, e.auralis_left(), n), new Float32Array(mem, e.auralis_right(), n)];
  });
}

async function fluidsynth(font, smf, seconds) {
  const JSSynth = require("js-synthesizer");
  const lib = require("js-synthesizer/libfluidsynth");
  JSSynth.Synthesizer.initializeWithFluidSynthModule(lib);
  await JSSynth.waitForReady();
  const synth = new JSSynth.Synthesizer();
  synth.init(RATE);
  await synth.loadSFont(font.buffer.slice(font.byteOffset, font.byteOffset + font.length));
  await synth.addSMFDataToPlayer(smf.buffer.slice(smf.byteOffset, smf.byteOffset + smf.length));
  await synth.playPlayer();
  const l = new Float32Array(BLOCK);
  const r = new Float32Array(BLOCK);
  const result = run(seconds, () => {
    synth.render([l, r]);
    return [l, r];
  });
  synth.close();
  return result;
}

async function spessasynth(font, midi, seconds) {
  const synth = new SpessaSynthProcessor(RATE, { eventsEnabled: false });
  synth.soundBankManager.addSoundBank(
    SoundBankLoader.fromArrayBuffer(font.buffer.slice(font.byteOffset, font.byteOffset + font.length)),
    "main",
  );
  await synth.processorInitialized;
  const seq = new SpessaSynthSequencer(synth);
  seq.loadNewSongList([midi]);
  seq.play();
  const l = new Float32Array(BLOCK);
  const r = new Float32Array(BLOCK);
  return run(seconds, (_, n) => {
    seq.processTick();
    l.fill(0);
    r.fill(0);
    synth.process(l, r, 0, n);
    return [l, r];
  });
}

const o = options();
const font = await readFile(o.font);
console.log(`font ${basename(o.font)} (${(font.length / 2 ** 20).toFixed(0)} MiB), ${RATE} Hz, blocks of ${BLOCK}`);
for (const file of o.files) {
  const smf = await readFile(file);
  const midi = BasicMIDI.fromArrayBuffer(smf.buffer.slice(smf.byteOffset, smf.byteOffset + smf.length));
  const seconds = Math.min(o.seconds, midi.duration);
  const results = {
    auralis: await auralis(o, font, midi, seconds),
    "js-synthesizer": await fluidsynth(font, smf, seconds),
    spessasynth_core: await spessasynth(font, midi, seconds),
  };
  for (const [name, r] of Object.entries(results)) {
    if (!(r.energy > 0)) throw new Error(`${name} rendered silence for ${basename(file)}`);
    console.log(`${basename(file)}: ${name} ${seconds.toFixed(1)} s in ${r.ms.toFixed(0)} ms, ${((seconds * 1000) / r.ms).toFixed(1)}x real time`);
  }
  const fastestPeer = Math.min(results["js-synthesizer"].ms, results.spessasynth_core.ms);
  console.log(`${basename(file)}: ratio ${(fastestPeer / results.auralis.ms).toFixed(2)} (Auralis against the faster peer; > 1 is faster)`);
}
