// Pure pieces of the player, shared by the page and node's test runner:
// the binary frame decoder, the jitter tracker and the adaptive buffer.

/** Bytes before the PCM in a binary audio frame (see the host README). */
export const HEADER_BYTES = 32;

/**
 * Decodes one binary audio frame into its header and float samples
 * (interleaved, in [-1, 1)). Returns null for anything that is not one.
 * @param {ArrayBuffer} buffer
 */
export function decodeFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  const magic = String.fromCharCode(
    view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== "AURA" || view.getUint8(4) !== 1) return null;
  const channels = view.getUint8(5);
  const frames = view.getUint16(6, true);
  const sampleRate = view.getUint32(8, true);
  const seq = Number(view.getBigUint64(12, true));
  const timestamp = view.getFloat64(20, true);
  const count = frames * channels;
  if (buffer.byteLength !== HEADER_BYTES + count * 2 || channels === 0) return null;
  const pcm = new Int16Array(buffer, HEADER_BYTES, count);
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = pcm[i] / 32768;
  return { seq, timestamp, sampleRate, channels, frames, samples };
}

/** Version byte of a binary frame of Opus packets. */
export const OPUS_VERSION = 2;

/**
 * Decodes one binary Opus frame (version 2: the PCM frame's header, byte 28
 * the packet count, then each packet as a u16 length and its bytes).
 * Returns null for anything that is not one.
 * @param {ArrayBuffer} buffer
 */
export function decodeOpusFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  const magic = String.fromCharCode(
    view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== "AURA" || view.getUint8(4) !== OPUS_VERSION) return null;
  const channels = view.getUint8(5);
  const frames = view.getUint16(6, true);
  const sampleRate = view.getUint32(8, true);
  const seq = Number(view.getBigUint64(12, true));
  const timestamp = view.getFloat64(20, true);
  const count = view.getUint8(28);
  const packets = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > buffer.byteLength) return null;
    const len = view.getUint16(at, true);
    if (at + 2 + len > buffer.byteLength) return null;
    packets.push(new Uint8Array(buffer, at + 2, len));
    at += 2 + len;
  }
  if (at !== buffer.byteLength) return null;
  return { seq, timestamp, sampleRate, channels, frames, packets };
}

/**
 * Tracks how irregularly chunks arrive, after the seed's IJitterTracker:
 * an exponential moving average of the arrival error (actual gap minus the
 * expected gap) and of its variance.
 */
export class JitterTracker {
  /**
   * @param {number} expectedMs the nominal gap between chunks
   * @param {number} alpha EMA weight of a new observation (0–1)
   */
  constructor(expectedMs = 100, alpha = 0.1) {
    this.expectedMs = expectedMs;
    this.alpha = alpha;
    this.lastArrival = null;
    this.mean = 0;
    this.variance = 0;
    this.samples = 0;
  }

  /** Records a chunk that arrived at `nowMs`. */
  record(nowMs) {
    if (this.lastArrival !== null) {
      const error = nowMs - this.lastArrival - this.expectedMs;
      const a = this.samples === 0 ? 1 : this.alpha;
      const diff = error - this.mean;
      this.mean += a * diff;
      this.variance = (1 - a) * (this.variance + a * diff * diff);
      this.samples++;
    }
    this.lastArrival = nowMs;
  }

  /** The standard deviation of the arrival error, ms. */
  get jitterMs() {
    return Math.sqrt(Math.max(0, this.variance));
  }

  /** Forgets everything (after a reconnect, a pause or a run's start):
   * the last arrival and the statistics, which described another run. */
  reset() {
    this.lastArrival = null;
    this.mean = 0;
    this.variance = 0;
    this.samples = 0;
  }
}

/**
 * How much audio to hold before and while playing: grows at once when
 * jitter rises or after an underrun, shrinks slowly when things are calm.
 */
export class AdaptiveBuffer {
  constructor({ minMs = 150, maxMs = 2000, startMs = 200, shrinkPerSecond = 10 } = {}) {
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.targetMs = startMs;
    this.shrinkPerSecond = shrinkPerSecond;
  }

  /**
   * Updates the target from the jitter now (`jitterMs`) after `elapsedMs`
   * of playback; returns the new target.
   */
  update(jitterMs, elapsedMs) {
    const wanted = Math.min(this.maxMs, Math.max(this.minMs, 150 + 4 * jitterMs));
    if (wanted > this.targetMs) {
      this.targetMs = wanted; // grow at once
    } else {
      const step = (this.shrinkPerSecond * elapsedMs) / 1000;
      this.targetMs = Math.max(wanted, this.targetMs - step); // shrink slowly
    }
    return this.targetMs;
  }

  /** After an underrun: hold half again as much. */
  underrun() {
    this.targetMs = Math.min(this.maxMs, this.targetMs * 1.5);
    return this.targetMs;
  }
}

/**
 * How many frames to skip to get back to the target buffer after a stall:
 * when even the smallest depth of the last second (`minDepth`) is more
 * than `slack` over `target`, the excess in whole chunks (so the skip
 * lands on a chunk boundary); otherwise 0. All in frames.
 */
export function catchUp(minDepth, target, chunk, slack) {
  if (!(minDepth > target + slack) || chunk <= 0) return 0;
  return Math.floor((minDepth - target) / chunk) * chunk;
}

/** Reconnect delays: 100 ms doubling to 5 s, reset on success. */
export class Backoff {
  constructor(firstMs = 100, maxMs = 5000) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.nextMs = firstMs;
  }

  /** The delay before the next attempt. */
  next() {
    const d = this.nextMs;
    this.nextMs = Math.min(this.maxMs, this.nextMs * 2);
    return d;
  }

  /** A connection succeeded. */
  reset() {
    this.nextMs = this.firstMs;
  }
}
