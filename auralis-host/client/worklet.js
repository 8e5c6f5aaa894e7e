// The AudioWorklet: plays interleaved stereo float chunks from a ring,
// holds back until `targetFrames` are buffered (at start and after an
// underrun), and reports its state to the page.

class AuralisPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.capacity = 48000 * 10; // frames: ten seconds
    this.ring = new Float32Array(this.capacity * 2);
    this.read = 0;
    this.write = 0;
    this.depth = 0;
    this.targetFrames = 0.4 * sampleRate;
    this.playing = false;
    this.underruns = 0;
    this.playedFrames = 0;
    this.audibleFrames = 0;
    this.gain = 1;
    this.fadeStep = 0;
    this.chunks = []; // [seq, startFrame] of chunks queued, for reports
    this.framesSinceReport = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(m) {
    if (m.type === "chunk") {
      const s = m.samples;
      const frames = s.length / 2;
      if (this.depth + frames > this.capacity) return; // full: drop
      this.chunks.push([m.seq, this.playedFrames + this.depth]);
      for (let i = 0; i < frames; i++) {
        this.ring[this.write * 2] = s[i * 2];
        this.ring[this.write * 2 + 1] = s[i * 2 + 1];
        this.write = (this.write + 1) % this.capacity;
      }
      this.depth += frames;
    } else if (m.type === "target") {
      this.targetFrames = Math.round((m.ms / 1000) * sampleRate);
    } else if (m.type === "fade") {
      // Fade to silence over m.seconds (the sleep timer).
      this.fadeStep = 1 / Math.max(1, m.seconds * sampleRate);
    } else if (m.type === "unfade") {
      this.fadeStep = 0;
      this.gain = 1;
    } else if (m.type === "flush") {
      this.read = this.write = this.depth = 0;
      this.chunks = [];
      this.playing = false;
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const left = out[0];
    const right = out[1] || out[0];
    const n = left.length;
    if (!this.playing && this.depth >= this.targetFrames && this.depth > 0) {
      this.playing = true;
      this.port.postMessage({ type: "started" });
    }
    if (this.playing && this.depth < n) {
      this.playing = false; // underrun: re-buffer instead of glitching on
      this.underruns++;
      this.port.postMessage({ type: "underrun", underruns: this.underruns });
    }
    if (this.playing) {
      let loud = false;
      for (let i = 0; i < n; i++) {
        if (this.fadeStep > 0) this.gain = Math.max(0, this.gain - this.fadeStep);
        const l = this.ring[this.read * 2] * this.gain;
        const r = this.ring[this.read * 2 + 1] * this.gain;
        left[i] = l;
        right[i] = r;
        if (Math.abs(l) > 1e-4 || Math.abs(r) > 1e-4) loud = true;
        this.read = (this.read + 1) % this.capacity;
      }
      this.depth -= n;
      this.playedFrames += n;
      if (loud) this.audibleFrames += n;
    } else {
      left.fill(0);
      if (right !== left) right.fill(0);
    }
    this.framesSinceReport += n;
    if (this.framesSinceReport >= sampleRate / 4) {
      this.framesSinceReport = 0;
      let seq = null;
      while (this.chunks.length > 0 && this.chunks[0][1] <= this.playedFrames) {
        seq = this.chunks.shift()[0];
      }
      this.port.postMessage({
        type: "report",
        seq,
        depthMs: (this.depth / sampleRate) * 1000,
        underruns: this.underruns,
        playedSeconds: this.playedFrames / sampleRate,
        audibleSeconds: this.audibleFrames / sampleRate,
        playing: this.playing,
        gain: this.gain,
      });
    }
    return true;
  }
}

registerProcessor("auralis-player", AuralisPlayer);
