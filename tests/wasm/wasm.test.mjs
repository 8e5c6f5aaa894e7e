// The WebAssembly engine (auralis-wasm) under Node's test runner: the
// same samples as the native engine, bit for bit, and errors as numbers.
// tests/tests/wasm.rs builds the module, renders the native hashes and
// runs this file with them:
//   AURALIS_WASM         the .wasm file
//   AURALIS_WASM_EXPECT  JSON: [{seed, rate, chunks, preset_at, preset, hash}]
//   AURALIS_WASM_FONT    a SoundFont to pass in as bytes (the GM bank)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

const OK = 0;
const INVALID_ARGUMENT = -1;
const BAD_FONT = -2;
const NOT_STARTED = -3;

async function engine() {
  const bytes = await readFile(process.env.AURALIS_WASM);
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return instance.exports;
}

/** FNV-1a 64 over bytes, as the native test hashes. */
function fnv(h, bytes) {
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** The hash of `chunks` chunks of 100 ms, a preset asked for before chunk `presetAt`. */
function render(e, chunks, presetAt, preset) {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < chunks; i++) {
    if (i === presetAt) assert.equal(e.auralis_set_preset(preset), OK);
    const n = e.auralis_next_chunk();
    assert.ok(n > 0, `chunk ${i}: ${n}`);
    h = fnv(h, new Uint8Array(e.memory.buffer, e.auralis_pcm(), n * 2));
  }
  return h.toString(16).padStart(16, '0');
}

const expected = JSON.parse(process.env.AURALIS_WASM_EXPECT ?? '[]');

test('the module and the expected hashes are given', () => {
  assert.ok(process.env.AURALIS_WASM, 'AURALIS_WASM');
  assert.ok(expected.length > 0, 'AURALIS_WASM_EXPECT');
});

for (const x of expected) {
  test(`seed ${x.seed} at ${x.rate} Hz: the native engine's bits`, async () => {
    const e = await engine();
    assert.equal(e.auralis_init(BigInt(x.seed), x.rate, 60, 0, 60, 0.5, 0, 0), OK);
    assert.equal(render(e, x.chunks, x.preset_at, x.preset), x.hash);
  });
}

test('a SoundFont passed in as bytes plays the same stream', async () => {
  const x = expected[0];
  const font = await readFile(process.env.AURALIS_WASM_FONT);
  const e = await engine();
  const at = e.auralis_font_reserve(font.length);
  assert.ok(at > 0);
  new Uint8Array(e.memory.buffer, at, font.length).set(font);
  assert.equal(e.auralis_init(BigInt(x.seed), x.rate, 60, 0, 60, 0.5, at, font.length), OK);
  assert.equal(render(e, x.chunks, x.preset_at, x.preset), x.hash);
});

test('render fills any number of frames, sounding, and now playing names the music', async () => {
  const e = await engine();
  assert.equal(e.auralis_init(7n, 48000, 62, 2, 70, 0.6, 0, 0), OK);
  let peak = 0;
  for (let i = 0; i < 48000 * 3 / 128; i++) {
    assert.equal(e.auralis_render(128), 128);
    const l = new Float32Array(e.memory.buffer, e.auralis_left(), 128);
    for (const v of l) peak = Math.max(peak, Math.abs(v));
  }
  assert.ok(peak > 0.01, `peak ${peak}`);
  assert.equal(e.auralis_render(100000), 4096, 'at most MAX_FRAMES');
  const n = e.auralis_now_playing();
  const text = new TextDecoder().decode(new Uint8Array(e.memory.buffer, e.auralis_text(), n));
  const [key, mode, bpm, intensity, chord] = text.split('\t');
  assert.deepEqual([key, mode, bpm, intensity], ['D', 'lydian', '70', '0.6']);
  assert.match(chord, /^[A-G]/);
});

test('bad input is a negative number, never a trap', async () => {
  const e = await engine();
  assert.equal(e.auralis_render(128), NOT_STARTED);
  assert.equal(e.auralis_next_chunk(), NOT_STARTED);
  assert.equal(e.auralis_set_preset(0), NOT_STARTED);
  assert.equal(e.auralis_now_playing(), NOT_STARTED);
  assert.equal(e.auralis_init(1n, 1000, 60, 0, 60, 0.5, 0, 0), INVALID_ARGUMENT);
  assert.equal(e.auralis_init(1n, 44100, 60, 9, 60, 0.5, 0, 0), INVALID_ARGUMENT);
  assert.equal(e.auralis_init(1n, 44100, 60, 0, 500, 0.5, 0, 0), INVALID_ARGUMENT);
  assert.equal(e.auralis_init(1n, 44100, 60, 0, 60, NaN, 0, 0), INVALID_ARGUMENT);
  const junk = e.auralis_font_reserve(1000);
  new Uint8Array(e.memory.buffer, junk, 1000).fill(7);
  assert.equal(e.auralis_init(1n, 44100, 60, 0, 60, 0.5, junk, 1000), BAD_FONT);
  assert.equal(e.auralis_render(128), NOT_STARTED, 'a failed init leaves no engine');
  assert.equal(e.auralis_init(1n, 44100, 60, 0, 60, 0.5, 0, 0), OK);
  assert.equal(e.auralis_set_preset(4), INVALID_ARGUMENT);
  assert.equal(e.auralis_set_params(60, 0, 60, 2), INVALID_ARGUMENT);
  assert.equal(e.auralis_set_params(61, 3, 40, 0.2), OK);
});
