// Unit tests of the web player's pure parts, for node's built-in runner:
//   node --test tests/js/
// Run from `cargo test` by tests/tests/web_player.rs, which also hands
// over a binary frame made by the Rust encoder (AURALIS_FRAME_FIXTURE).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  AdaptiveBuffer,
  Backoff,
  HEADER_BYTES,
  JitterTracker,
  catchUp,
  decodeFrame,
  decodeOpusFrame,
} from "../../auralis-host/client/jitter.js";

function frame({ seq = 7, timestamp = 1.5, rate = 44100, samples = [0, 16384, -32768, 32767] } = {}) {
  const buf = new ArrayBuffer(HEADER_BYTES + samples.length * 2);
  const v = new DataView(buf);
  [..."AURA"].forEach((c, i) => v.setUint8(i, c.charCodeAt(0)));
  v.setUint8(4, 1);
  v.setUint8(5, 2);
  v.setUint16(6, samples.length / 2, true);
  v.setUint32(8, rate, true);
  v.setBigUint64(12, BigInt(seq), true);
  v.setFloat64(20, timestamp, true);
  samples.forEach((s, i) => v.setInt16(HEADER_BYTES + 2 * i, s, true));
  return buf;
}

test("decodes a binary frame's header and scales its samples", () => {
  const f = decodeFrame(frame());
  assert.equal(f.seq, 7);
  assert.equal(f.timestamp, 1.5);
  assert.equal(f.sampleRate, 44100);
  assert.equal(f.channels, 2);
  assert.equal(f.frames, 2);
  assert.deepEqual(Array.from(f.samples), [0, 0.5, -1, 32767 / 32768]);
});

test("refuses what is not a frame", () => {
  const good = frame();
  assert.equal(decodeFrame(good.slice(0, HEADER_BYTES - 1)), null, "short header");
  assert.equal(decodeFrame(good.slice(0, good.byteLength - 2)), null, "short body");
  const badMagic = good.slice(0);
  new DataView(badMagic).setUint8(0, 88);
  assert.equal(decodeFrame(badMagic), null, "magic");
  const badVersion = good.slice(0);
  new DataView(badVersion).setUint8(4, 2);
  assert.equal(decodeFrame(badVersion), null, "version");
  assert.equal(decodeFrame("not a buffer"), null);
});

test("decodes the frame the Rust server encoded", (t) => {
  const dir = process.env.AURALIS_FRAME_FIXTURE;
  if (!dir) {
    t.skip("AURALIS_FRAME_FIXTURE not set (cargo test sets it)");
    return;
  }
  const bytes = readFileSync(join(dir, "frame.bin"));
  const expected = JSON.parse(readFileSync(join(dir, "frame.json"), "utf8"));
  const f = decodeFrame(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  assert.ok(f, "decodes");
  assert.equal(f.seq, expected.seq);
  assert.equal(f.timestamp, expected.timestamp);
  assert.equal(f.sampleRate, expected.sample_rate);
  assert.equal(f.frames, expected.pcm.length / 2);
  assert.deepEqual(Array.from(f.samples, (x) => Math.round(x * 32768)), expected.pcm);
});

test("jitter tracker: steady arrivals have no jitter, irregular ones do", () => {
  const steady = new JitterTracker(100);
  for (let i = 0; i < 50; i++) steady.record(i * 100);
  assert.ok(steady.jitterMs < 1e-9, `steady ${steady.jitterMs}`);
  assert.ok(Math.abs(steady.mean) < 1e-9);

  const rough = new JitterTracker(100);
  let t = 0;
  for (let i = 0; i < 200; i++) {
    t += i % 2 ? 150 : 50; // ±50 ms around the nominal gap
    rough.record(t);
  }
  assert.ok(rough.jitterMs > 35 && rough.jitterMs < 65, `rough ${rough.jitterMs}`);
  assert.ok(Math.abs(rough.mean) < 10, `mean ${rough.mean}`);
});

test("jitter tracker follows a change and forgets across a reconnect", () => {
  const j = new JitterTracker(100, 0.1);
  let t = 0;
  for (let i = 0; i < 100; i++) j.record((t += 100));
  const calm = j.jitterMs;
  for (let i = 0; i < 20; i++) j.record((t += i % 2 ? 200 : 0));
  assert.ok(j.jitterMs > calm + 30, `rises: ${calm} -> ${j.jitterMs}`);
  j.reset();
  assert.equal(j.jitterMs, 0, "the old run's jitter is forgotten");
  assert.equal(j.samples, 0);
  j.record(t + 10_000); // the gap of a reconnect is not jitter
  assert.equal(j.samples, 0);
  j.record(t + 10_100);
  assert.equal(j.jitterMs, 0, "one on-time arrival: no jitter");
  assert.equal(j.samples, 1);
});

test("adaptive buffer grows at once and shrinks slowly", () => {
  const b = new AdaptiveBuffer({ minMs: 300, maxMs: 2000, startMs: 400, shrinkPerSecond: 10 });
  assert.equal(b.update(0, 100), 399, "calm: shrinks by 1 ms per 100 ms");
  const grown = b.update(150, 100);
  assert.equal(grown, 750, "jitter 150 ms: 150 + 4 × 150 at once");
  // A calm second later it has come down by only 10 ms.
  let target = grown;
  for (let i = 0; i < 10; i++) target = b.update(0, 100);
  assert.ok(Math.abs(target - 740) < 1e-9, `${target}`);
  // It never goes below the floor nor above the ceiling.
  for (let i = 0; i < 10_000; i++) target = b.update(0, 100);
  assert.equal(target, 300);
  assert.equal(b.update(10_000, 100), 2000);
});

test("adaptive buffer holds more after an underrun", () => {
  const b = new AdaptiveBuffer({ startMs: 400, maxMs: 1000 });
  assert.equal(b.underrun(), 600);
  assert.equal(b.underrun(), 900);
  assert.equal(b.underrun(), 1000, "capped");
});

test("reconnect backoff doubles from 100 ms to 5 s and resets", () => {
  const b = new Backoff();
  const seen = Array.from({ length: 9 }, () => b.next());
  assert.deepEqual(seen, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  b.reset();
  assert.equal(b.next(), 100);
});

test("decodes the Opus frame the Rust server encoded", (t) => {
  const dir = process.env.AURALIS_FRAME_FIXTURE;
  if (!dir) {
    t.skip("AURALIS_FRAME_FIXTURE not set (cargo test sets it)");
    return;
  }
  const bytes = readFileSync(join(dir, "frame-opus.bin"));
  const expected = JSON.parse(readFileSync(join(dir, "frame-opus.json"), "utf8"));
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const f = decodeOpusFrame(buf);
  assert.ok(f, "decodes");
  assert.equal(f.seq, expected.seq);
  assert.equal(f.frames, 4800);
  assert.equal(f.sampleRate, 48000);
  assert.deepEqual(f.packets.map((p) => p.length), expected.packet_lengths);
  assert.deepEqual(Array.from(f.packets[0].slice(0, 4)), expected.first_bytes);
  assert.equal(decodeFrame(buf), null, "not a PCM frame");
  assert.equal(decodeOpusFrame(buf.slice(0, buf.byteLength - 1)), null, "cut short");
});

test("catch-up skips whole chunks only when the buffer stays too deep", () => {
  const chunk = 4800;
  const target = 9600;
  const slack = 9600;
  assert.equal(catchUp(target + 5000, target, chunk, slack), 0, "within slack");
  assert.equal(catchUp(target + 3 * 48000, target, chunk, slack), 30 * chunk, "a 3 s stall");
  assert.equal(catchUp(target + 2.5 * chunk + slack, target, chunk, slack), 4 * chunk);
  assert.equal(catchUp(NaN, target, chunk, slack), 0);
});
