// How fast the WebAssembly engine renders the default stream under Node,
// in the AudioWorklet's quanta of 128 frames at 48 kHz: the mean and p99
// cost of a quantum as a fraction of its 2.67 ms of real time.
//
//   (cd auralis-wasm && cargo build --release)
//   node bench/wasm/speed.mjs [seconds=60] [module]
import { readFile } from 'node:fs/promises';

const seconds = Number(process.argv[2] ?? 60);
const path = process.argv[3] ?? 'auralis-wasm/target/wasm32-unknown-unknown/release/auralis_wasm.wasm';
const { instance } = await WebAssembly.instantiate(await readFile(path), {});
const e = instance.exports;
const RATE = 48000;
const QUANTUM = 128;
if (e.auralis_init(2026n, RATE, 60, 0, 60, 0.5, 0, 0) !== 0) throw new Error('init failed');
const quanta = Math.ceil((seconds * RATE) / QUANTUM);
const costs = new Float64Array(quanta);
const started = performance.now();
for (let i = 0; i < quanta; i++) {
  const t = performance.now();
  e.auralis_render(QUANTUM);
  costs[i] = performance.now() - t;
}
const total = performance.now() - started;
costs.sort();
const budget = (QUANTUM / RATE) * 1000;
const mean = total / quanta;
const p99 = costs[Math.floor(quanta * 0.99)];
console.log(
  `wasm, ${seconds} s of the default stream at ${RATE} Hz in ${quanta} quanta of ${QUANTUM}: ` +
    `${(total / 1000).toFixed(2)} s, ${((seconds * 1000) / total).toFixed(1)}x real time; ` +
    `per quantum mean ${(mean * 1000).toFixed(1)} us (${((mean / budget) * 100).toFixed(2)} % of real time), ` +
    `p99 ${(p99 * 1000).toFixed(1)} us (${((p99 / budget) * 100).toFixed(2)} %)`,
);
