// The Auralis engine inside the AudioWorklet: the same core as the server
// (auralis-wasm), composing and synthesising in the listener's browser.
// The page compiles /client/auralis.wasm and hands the module over with
// its settings; each render quantum asks the engine for 128 frames.
//
// Messages in:  {type:"init", module, seed, key, mode, bpm, intensity}
//               {type:"params", key, mode, bpm, intensity} · {type:"preset", index}
//               {type:"play"} · {type:"pause"} · {type:"fade", seconds} · {type:"unfade"}
// Messages out: {type:"ready"} · {type:"error", message} · {type:"started"}
//               {type:"now_playing", key, mode, bpm, intensity, chord}
//               {type:"report", playedSeconds, audibleSeconds, dropouts, gain, renderMean, renderMax}

const MODES = ["aeolian", "dorian", "lydian", "phrygian", "ionian", "mixolydian"];

class AuralisEngine extends AudioWorkletProcessor {
  constructor() {
    super();
    this.e = null; // the module's exports, once started
    this.playing = false;
    this.gain = 1; // the sleep timer's fade
    this.fadeStep = 0;
    this.played = 0; // frames
    this.audible = 0; // frames with sound
    this.dropouts = 0; // quanta the audio thread never asked for (it fell behind)
    this.lastTime = null;
    this.text = "";
    this.sinceText = 0;
    this.sinceReport = 0;
    this.renderTotal = 0; // ms spent rendering since the last report
    this.renderMax = 0;
    this.renderQuanta = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(m) {
    try {
      if (m.type === "init") this.init(m);
      else if (!this.e) return;
      else if (m.type === "params") this.check(this.e.auralis_set_params(m.key, MODES.indexOf(m.mode), m.bpm, m.intensity));
      else if (m.type === "preset") this.check(this.e.auralis_set_preset(m.index));
      else if (m.type === "play") {
        this.playing = true;
        this.lastTime = null;
      } else if (m.type === "pause") this.playing = false;
      else if (m.type === "fade") this.fadeStep = 128 / (Math.max(m.seconds, 0.01) * sampleRate);
      else if (m.type === "unfade") {
        this.fadeStep = 0;
        this.gain = 1;
      }
    } catch (err) {
      this.port.postMessage({ type: "error", message: String(err) });
    }
  }

  init(m) {
    const instance = new WebAssembly.Instance(m.module, {});
    const e = instance.exports;
    const status = e.auralis_init(BigInt(m.seed), sampleRate, m.key, MODES.indexOf(m.mode), m.bpm, m.intensity, 0, 0);
    if (status !== 0) throw new Error(`the engine refused its settings (${status})`);
    this.e = e;
    this.port.postMessage({ type: "ready" });
    this.nowPlaying();
  }

  check(status) {
    if (status < 0) this.port.postMessage({ type: "error", message: `engine status ${status}` });
  }

  nowPlaying() {
    const n = this.e.auralis_now_playing();
    if (n <= 0) return;
    // The worklet scope has no TextDecoder; the text is ASCII.
    const text = String.fromCharCode(...new Uint8Array(this.e.memory.buffer, this.e.auralis_text(), n));
    if (text === this.text) return;
    this.text = text;
    const [key, mode, bpm, intensity, chord] = text.split("\t");
    this.port.postMessage({ type: "now_playing", key, mode, bpm: Number(bpm), intensity: Number(intensity), chord: chord || null });
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const left = out[0];
    const right = out[1] ?? out[0];
    const frames = left.length;
    if (!this.e || !this.playing) {
      left.fill(0);
      right.fill(0);
      return true;
    }
    // A gap in the audio clock larger than one quantum: the thread fell
    // behind and the listener heard a dropout.
    if (this.lastTime !== null && currentTime - this.lastTime > (1.5 * frames) / sampleRate) this.dropouts++;
    this.lastTime = currentTime;
    const t0 = Date.now();
    const n = this.e.auralis_render(frames);
    const took = Date.now() - t0;
    this.renderTotal += took;
    this.renderMax = Math.max(this.renderMax, took);
    this.renderQuanta++;
    const mem = this.e.memory.buffer;
    const l = new Float32Array(mem, this.e.auralis_left(), n);
    const r = new Float32Array(mem, this.e.auralis_right(), n);
    let energy = 0;
    for (let i = 0; i < n; i++) {
      if (this.fadeStep > 0) this.gain = Math.max(0, this.gain - this.fadeStep / frames);
      left[i] = l[i] * this.gain;
      right[i] = r[i] * this.gain;
      energy += left[i] * left[i];
    }
    if (this.played === 0) this.port.postMessage({ type: "started" });
    this.played += n;
    if (energy / n > 1e-8) this.audible += n;
    this.sinceText += n;
    if (this.sinceText >= sampleRate / 10) {
      this.sinceText = 0;
      this.nowPlaying();
    }
    this.sinceReport += n;
    if (this.sinceReport >= sampleRate / 4) {
      this.sinceReport = 0;
      this.port.postMessage({
        type: "report",
        playedSeconds: this.played / sampleRate,
        audibleSeconds: this.audible / sampleRate,
        dropouts: this.dropouts,
        gain: this.gain,
        renderMeanMs: this.renderTotal / this.renderQuanta,
        renderMaxMs: this.renderMax,
      });
      this.renderTotal = 0;
      this.renderQuanta = 0;
      this.renderMax = 0;
    }
    return true;
  }
}

registerProcessor("auralis-engine", AuralisEngine);
