// The WebAssembly MIDI synthesizer (auralis-wasm's `midi` feature) under
// Node's test runner: a sequence of MIDI messages over many programs,
// the drums, pitch bend and controllers, rendered in 128-frame blocks,
// gives the native synthesizer's samples bit for bit (the float bits of
// every block hashed). tests/tests/wasm.rs builds the module, renders the
// native hash and runs this file with:
//   AURALIS_WASM_MIDI    the .wasm file (built with --features midi)
//   AURALIS_WASM_FONT    the SoundFont (the General MIDI bank)
//   AURALIS_MIDI_EVENTS  JSON: [[block, status, data1, data2], ...]
//   AURALIS_MIDI_BLOCKS  how many blocks of 128 frames at 44.1 kHz
//   AURALIS_MIDI_EXPECT  the native FNV-1a 64 hash, hex
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

function fnv(h, bytes) {
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

test("the MIDI synthesizer renders the native bits", async () => {
  const { instance } = await WebAssembly.instantiate(await readFile(process.env.AURALIS_WASM_MIDI), {});
  const e = instance.exports;
  const font = await readFile(process.env.AURALIS_WASM_FONT);
  const at = e.auralis_font_reserve(font.length);
  new Uint8Array(e.memory.buffer, at, font.length).set(font);
  assert.equal(e.auralis_synth_render(128), -3, "not started yet");
  assert.equal(e.auralis_synth_init(44100, at, font.length), 0);
  const events = JSON.parse(process.env.AURALIS_MIDI_EVENTS);
  const blocks = Number(process.env.AURALIS_MIDI_BLOCKS);
  let next = 0;
  let h = 0xcbf29ce484222325n;
  for (let b = 0; b < blocks; b++) {
    while (next < events.length && events[next][0] === b) {
      const [, s, d1, d2] = events[next++];
      assert.equal(e.auralis_synth_event(s, d1, d2), 0, `event ${next - 1}`);
    }
    assert.equal(e.auralis_synth_render(128), 128);
    h = fnv(h, new Uint8Array(e.memory.buffer, e.auralis_left(), 128 * 4));
    h = fnv(h, new Uint8Array(e.memory.buffer, e.auralis_right(), 128 * 4));
  }
  assert.equal(h.toString(16).padStart(16, "0"), process.env.AURALIS_MIDI_EXPECT);
  assert.equal(e.auralis_synth_event(0xf0, 0, 0), -1, "a system message is refused");
});
