// The AudioWorklet: plays interleaved stereo float pieces from a ring,
// holds back until `targetFrames` are buffered (at start and after an
// underrun), skips back to its target with a short crossfade when a stall
// has left it too deep, and reports its state to the page.

import { catchUp } from "./jitter.js";

/** How long the catch-up crossfade lasts. */
const CROSSFADE_SECONDS = 0.012;
/** How far over its target the buffer may stay for a second before a skip. */
const SLACK_SECONDS = 0.2;

class AuralisPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.capacity = 48000 * 12; // frames: twelve seconds
    this.ring = new Float32Array(this.capacity * 2);
    this.read = 0;
    this.write = 0;
    this.depth = 0;
    this.targetFrames = 0.2 * sampleRate;
    this.chunkFrames = Math.round(0.1 * sampleRate);
    this.playing = false;
    this.underruns = 0;
    this.playedFrames = 0;
    this.audibleFrames = 0;
    // Frames taken from the ring, played or skipped: chunk positions are
    // counted in these.
    this.consumed = 0;
    this.gain = 1;
    this.fadeStep = 0;
    this.chunks = []; // [seq, startFrame] of chunks queued, for reports
    this.framesSinceReport = 0;
    // The smallest depth seen in this second and the last.
    this.windowMin = Infinity;
    this.lastWindowMin = 0;
    this.windowFrames = 0;
    this.crossfade = null; // { offset, done, length } while skipping
    this.skippedFrames = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(m) {
    if (m.type === "chunk") {
      const s = m.samples;
      const frames = s.length / 2;
      if (this.depth + frames > this.capacity) return; // full: drop
      if (m.seq !== null && m.seq !== undefined) {
        this.chunks.push([m.seq, this.consumed + this.depth]);
      }
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
      this.crossfade = null;
      this.windowMin = Infinity;
      this.lastWindowMin = 0;
    }
  }

  /** One frame from the ring at `ahead` frames past the read position. */
  at(ahead, channel) {
    return this.ring[((this.read + ahead) % this.capacity) * 2 + channel];
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
      this.crossfade = null;
      this.underruns++;
      this.port.postMessage({ type: "underrun", underruns: this.underruns });
    }
    if (this.playing && this.crossfade === null) {
      const skip = catchUp(this.lastWindowMin, this.targetFrames, this.chunkFrames,
        SLACK_SECONDS * sampleRate);
      const length = Math.round(CROSSFADE_SECONDS * sampleRate);
      if (skip > 0 && this.depth >= skip + length + n) {
        this.crossfade = { offset: skip, done: 0, length };
        this.lastWindowMin = 0;
        this.windowMin = Infinity;
      }
    }
    if (this.playing) {
      let loud = false;
      for (let i = 0; i < n; i++) {
        if (this.fadeStep > 0) this.gain = Math.max(0, this.gain - this.fadeStep);
        let l = this.at(0, 0);
        let r = this.at(0, 1);
        const x = this.crossfade;
        if (x !== null) {
          // From the stale audio to the audio `offset` later, smoothly.
          const t = (x.done + 0.5) / x.length;
          l = (1 - t) * l + t * this.at(x.offset, 0);
          r = (1 - t) * r + t * this.at(x.offset, 1);
          if (++x.done === x.length) {
            this.read = (this.read + x.offset) % this.capacity;
            this.depth -= x.offset;
            this.consumed += x.offset;
            this.skippedFrames += x.offset;
            this.crossfade = null;
            // Skipped chunks were never heard: forget them unreported.
            while (this.chunks.length > 1 && this.chunks[1][1] <= this.consumed + i) {
              this.chunks.shift();
            }
            this.port.postMessage({ type: "skipped", ms: (x.offset / sampleRate) * 1000 });
          }
        }
        l *= this.gain;
        r *= this.gain;
        left[i] = l;
        right[i] = r;
        if (Math.abs(l) > 1e-4 || Math.abs(r) > 1e-4) loud = true;
        this.read = (this.read + 1) % this.capacity;
      }
      this.depth -= n;
      this.playedFrames += n;
      this.consumed += n;
      if (loud) this.audibleFrames += n;
      // Each chunk that has started playing is reported once, at once.
      while (this.chunks.length > 0 && this.chunks[0][1] <= this.consumed) {
        const seq = this.chunks.shift()[0];
        this.port.postMessage({ type: "playing", seq, depthMs: (this.depth / sampleRate) * 1000 });
      }
    } else {
      left.fill(0);
      if (right !== left) right.fill(0);
    }
    // The depth's minimum over each second decides whether to catch up.
    this.windowMin = Math.min(this.windowMin, this.depth);
    this.windowFrames += n;
    if (this.windowFrames >= sampleRate) {
      this.lastWindowMin = this.windowMin;
      this.windowMin = Infinity;
      this.windowFrames = 0;
    }
    this.framesSinceReport += n;
    if (this.framesSinceReport >= sampleRate / 4) {
      this.framesSinceReport = 0;
      this.port.postMessage({
        type: "report",
        depthMs: (this.depth / sampleRate) * 1000,
        underruns: this.underruns,
        playedSeconds: this.playedFrames / sampleRate,
        audibleSeconds: this.audibleFrames / sampleRate,
        skippedSeconds: this.skippedFrames / sampleRate,
        playing: this.playing,
        gain: this.gain,
      });
    }
    return true;
  }
}

registerProcessor("auralis-player", AuralisPlayer);
