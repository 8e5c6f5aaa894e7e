// The web player in real headless Chromium (autoplay blocked) against a
// real auralis-host: nothing streams before Play, then Opus through
// WebCodecs plays with no underrun at a short buffer; now playing, Media
// Session, volume, Pause (the server stops rendering), a preset heard in
// time, recovery from a 3 s stall, axe-core accessibility, reconnecting
// when the server restarts, the sleep timer, settings restored on reload,
// and the PCM fallback where WebCodecs is missing. A screenshot is saved.
//
//   AURALIS_HOST_BIN=target/debug/auralis-host node --test tests/browser/
//
// It plays the server's stream (`?engine=server`); engine.test.mjs plays
// the engine in the page.
//
// Run from `cargo test` by tests/tests/web_player.rs.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { launchBrowser, sleep, startServer, state, stopServer } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const artifacts = process.env.AURALIS_ARTIFACTS ?? join(here, "../../target/test-artifacts");

let server = await startServer();
const browser = await launchBrowser();
after(async () => {
  await browser.close();
  await stopServer(server.proc, "SIGTERM");
});

const context = await browser.newContext({ viewport: { width: 1024, height: 1100 } });
const page = await context.newPage();
page.on("pageerror", (e) => console.error("page error:", e));

const status = async () => (await fetch(`${server.url}api/status`)).json();
const metrics = async () => (await fetch(`${server.url}api/metrics`)).json();

test("before Play nothing streams; after Play the buffer is at its target at once", async () => {
  // This file plays the server's stream (engine.test.mjs the page's own
  // engine).
  await page.goto(`${server.url}?engine=server`);
  await page.waitForFunction(() => window.auralis.welcome !== null, null, { timeout: 10_000 });
  // The page waits for Play (whether or not the browser would allow
  // autoplay), and says what to do.
  await sleep(10_000);
  let s = await state(page);
  assert.equal(s.listening, false);
  assert.equal(s.chunksReceived, 0, "no audio before Play");
  assert.equal(s.bufferMs, 0);
  assert.match(await page.locator("#status-text").innerText(), /Paused — press Play/);
  const st = await status();
  assert.equal(st.paused_streams, 1, "the server renders nothing for it");
  assert.equal(st.streams_rendering, 0);
  await page.getByRole("button", { name: "Play the music" }).click();
  const pressed = Date.now();
  await page.waitForFunction(() => window.auralis.startDelayMs !== null, null, { timeout: 5_000 });
  await page.waitForFunction(
    () => window.auralis.playedSeconds > 0.5 && Math.abs(window.auralis.bufferMs - window.auralis.targetMs) <= 150,
    null,
    { timeout: 5_000, polling: 50 },
  );
  s = await state(page);
  console.log(`sound ${s.startDelayMs} ms after Play; buffer ${Math.round(s.bufferMs)} ms (target ${Math.round(s.targetMs)}) ${Date.now() - pressed} ms after Play`);
  assert.ok(s.startDelayMs < 1000, `sound ${s.startDelayMs} ms after Play`);
  assert.equal(await page.locator("#play").innerText(), "Pause");
});

test("plays Opus through WebCodecs: 5 s audible with no underrun", async () => {
  await page.waitForFunction(() => window.auralis.audibleSeconds >= 5, null, {
    timeout: 30_000,
    polling: 250,
  });
  const s = await state(page);
  assert.equal(s.codec, "opus");
  assert.ok(s.webcodecsFrames > 200, `${s.webcodecsFrames} Opus frames decoded by WebCodecs`);
  assert.equal(s.underruns, 0, "no underrun");
  assert.equal(s.audioState, "running");
  assert.equal(s.connection, "connected");
  assert.match(await page.locator("#status-text").innerText(), /Connected/);
  const m = await metrics();
  assert.equal(m.buffer_underruns, 0, "the server was never late either");
  const e2e = m.end_to_end_latency_ms;
  console.log(`end to end (server, from this player's reports): p50 ${e2e.p50} p95 ${e2e.p95} p99 ${e2e.p99} ms over ${e2e.samples}`);
  assert.ok(e2e.samples >= 40, "the player reports every chunk it starts");
});

test("now playing shows the key and mode the server reports", async () => {
  await page.waitForFunction(() => window.auralis.nowPlaying?.chord, null, { timeout: 15_000 });
  const s = await state(page);
  const text = await page.locator("#now-playing").innerText();
  assert.ok(text.includes(`${s.nowPlaying.key} ${s.nowPlaying.mode}`), text);
  assert.ok(text.includes("chord"), text);
  const meta = await page.evaluate(() => navigator.mediaSession.metadata?.title);
  assert.equal(meta, `${s.nowPlaying.key} ${s.nowPlaying.mode}`, "Media Session metadata");
});

test("the volume control changes the output level", async () => {
  const ratio = async () => {
    const levels = [];
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      const s = await state(page);
      if (s.levelIn > 1e-4) levels.push(s.levelOut / s.levelIn);
    }
    levels.sort((a, b) => a - b);
    return levels[Math.floor(levels.length / 2)];
  };
  await page.locator("#volume").fill("100");
  const full = await ratio();
  await page.locator("#volume").fill("25");
  const quarter = await ratio();
  console.log(`output/input level: ${full.toFixed(3)} at 100 %, ${quarter.toFixed(3)} at 25 %`);
  assert.ok(Math.abs(full - 1) < 0.05, `full volume passes the signal: ${full}`);
  assert.ok(Math.abs(quarter - 0.25) < 0.05, `a quarter of the level: ${quarter}`);
  assert.equal(await page.locator("#volume-value").innerText(), "25%");
  await page.locator("#volume").fill("80");
});

test("a preset change is heard within the phrase-boundary delay plus 1 s", async () => {
  const clicked = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: "Sleep" }).click();
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.mode === "phrygian", null, {
    timeout: 15_000,
  });
  const seq = (await state(page)).lastParamsMessage.seq;
  await page.waitForFunction((n) => window.auralis.playingSeq !== null && window.auralis.playingSeq >= n, seq, {
    timeout: 10_000,
    polling: 20,
  });
  const s = await state(page);
  const announced = s.lastParamsMessage.receivedAt;
  const heard = s.playingAt[seq] ?? performance.now();
  console.log(`preset: params after ${Math.round(announced - clicked)} ms, heard ${Math.round(heard - announced)} ms after that`);
  // The params chunk is played within a second of the server sending it.
  assert.ok(heard - announced < 1000, `heard ${heard - announced} ms after the params message`);
  assert.equal(await page.locator("#mode").inputValue(), "phrygian");
  assert.equal(await page.locator("#bpm").inputValue(), "40");
  assert.equal(await page.locator("#intensity-value").innerText(), "0.20");
  assert.equal(await page.getByRole("button", { name: "Sleep" }).getAttribute("aria-pressed"), "true");
  await page.waitForFunction(() => window.auralis.nowPlaying?.mode === "phrygian", null, { timeout: 10_000 });
  assert.match(await page.locator("#now-playing").innerText(), /phrygian/);
  // A control: the key, chosen with the keyboard.
  await page.locator("#key").selectOption("62");
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.key === 62, null, {
    timeout: 15_000,
  });
  assert.equal((await state(page)).params.mode, "phrygian", "the key change kept the mode");
});

test("Pause stops the server rendering; Play starts afresh", async () => {
  await page.getByRole("button", { name: "Pause the music" }).click();
  await sleep(500);
  const st = await status();
  assert.equal(st.paused_streams, 1);
  assert.equal(st.streams_rendering, 0, "nothing renders for a paused stream");
  const before = (await metrics()).synthesis_latency_ms.samples;
  await sleep(1000);
  assert.equal((await metrics()).synthesis_latency_ms.samples, before, "no chunk rendered while paused");
  assert.match(await page.locator("#status-text").innerText(), /Paused/);
  assert.ok((await state(page)).bufferMs < 50, "nothing stale is kept");
  await page.getByRole("button", { name: "Play the music" }).click();
  await page.waitForFunction(() => window.auralis.startDelayMs !== null, null, { timeout: 5_000 });
  const played = (await state(page)).audibleSeconds;
  await page.waitForFunction((p) => window.auralis.audibleSeconds > p + 1, played, { timeout: 10_000 });
  assert.equal((await status()).paused_streams, 0);
});

test("after a 3 s stall the player returns to its target buffer within 5 s", async () => {
  const before = await state(page);
  const skippedBefore = before.skippedSeconds;
  assert.ok(before.targetMs < 400, `a short target before the stall: ${before.targetMs}`);
  await page.evaluate(() => window.auralis.audio.suspend());
  await sleep(3000);
  await page.evaluate(() => window.auralis.audio.resume());
  const t = Date.now();
  await page.waitForFunction(
    (k) => window.auralis.skippedSeconds > k && window.auralis.bufferMs <= window.auralis.targetMs + 200,
    skippedBefore,
    { timeout: 5_000, polling: 50 },
  );
  const s = await state(page);
  console.log(`stall: back to ${Math.round(s.bufferMs)} ms (target ${Math.round(s.targetMs)}) ${Date.now() - t} ms after it, ${(s.skippedSeconds - skippedBefore).toFixed(1)} s skipped`);
  assert.match(await page.locator("#status-text").innerText(), /caught up/);
  assert.ok(s.bufferMs < 500, `${s.bufferMs} ms buffered after the catch-up`);
  assert.equal(s.underruns, 0, "a stall is not an underrun");
});

test("has no serious accessibility violations (axe-core)", async () => {
  await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious, [], JSON.stringify(result));
  // Every control is reachable by keyboard.
  const tabbable = [];
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press("Tab");
    tabbable.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.preset || ""));
  }
  for (const id of ["play", "volume", "focus", "meditation", "sleep", "bright", "key", "mode", "bpm", "intensity", "sleep-timer", "listen-link"]) {
    assert.ok(tabbable.includes(id), `${id} reachable by Tab: ${tabbable}`);
  }
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "web-player.png"), fullPage: true });
});

test("reconnects by itself when the server restarts, and re-sends its settings", async () => {
  const before = await state(page);
  const port = new URL(server.url).port;
  await stopServer(server.proc);
  await page.waitForFunction(() => window.auralis.connection === "disconnected", null, { timeout: 10_000 });
  assert.match(await page.locator("#status-text").innerText(), /Disconnected/);
  server = await startServer(`127.0.0.1:${port}`);
  await page.waitForFunction((n) => window.auralis.connects > n, before.connects, { timeout: 15_000 });
  // The new stream starts at the defaults; the page asks again for its own.
  await page.waitForFunction(
    () => {
      const p = window.auralis.lastParamsMessage?.params;
      return window.auralis.connects > 1 && p?.key === 62 && p?.mode === "phrygian" && window.auralis.welcome?.seed !== undefined;
    },
    null,
    { timeout: 15_000 },
  );
  const played = (await state(page)).audibleSeconds;
  await page.waitForFunction((p) => window.auralis.audibleSeconds > p + 1, played, { timeout: 15_000 });
});

test("the sleep timer ends in a slow fade, not a cut", async () => {
  await page.locator("#sleep-timer").selectOption("30");
  assert.match(await page.locator("#timer-text").innerText(), /Fades out at/);
  // The same timer, shortened: fade after 0.5 s, over 3 s.
  await page.evaluate(() => window.auralis.setSleepTimer(0.5 / 60, 3));
  await page.waitForFunction(() => window.auralis.sleepFading, null, { timeout: 5_000 });
  // Part way through, the level is between full and silent.
  await page.waitForFunction(() => window.auralis.gain < 0.8 && window.auralis.gain > 0.05, null, {
    timeout: 5_000,
    polling: 50,
  });
  await page.waitForFunction(() => window.auralis.gain === 0, null, { timeout: 10_000 });
  assert.match(await page.locator("#timer-text").innerText(), /Fading out/);
  // Turning the timer off brings the music back.
  await page.locator("#sleep-timer").selectOption("0");
  await page.waitForFunction(() => window.auralis.gain === 1, null, { timeout: 5_000 });
});

test("settings are restored on reload", async () => {
  await page.reload();
  assert.equal(await page.locator("#key").inputValue(), "62");
  assert.equal(await page.locator("#mode").inputValue(), "phrygian");
  assert.equal(await page.locator("#bpm").inputValue(), "40");
  await page.waitForFunction(() => window.auralis.welcome !== null, null, { timeout: 10_000 });
  // A reloaded page is a new page: it waits for Play again (the browser
  // may now allow autoplay; the page still waits).
  assert.equal((await state(page)).listening, false);
  assert.equal((await status()).paused_streams, 1, "the reloaded page streams nothing before Play");
  await page.getByRole("button", { name: "Play the music" }).click();
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.key === 62, null, {
    timeout: 15_000,
  });
});

test("plays PCM where the browser has no WebCodecs", async () => {
  const plain = await context.newPage();
  plain.on("pageerror", (e) => console.error("page error:", e));
  await plain.addInitScript(() => {
    delete window.AudioDecoder;
  });
  await plain.goto(`${server.url}?engine=server`);
  await plain.waitForFunction(() => window.auralis.welcome !== null, null, { timeout: 10_000 });
  await plain.getByRole("button", { name: "Play the music" }).click();
  await plain.waitForFunction(() => window.auralis.audibleSeconds >= 3, null, {
    timeout: 20_000,
    polling: 250,
  });
  const s = await state(plain);
  assert.equal(s.codec, "pcm");
  assert.equal(s.welcome.format, "binary");
  assert.equal(s.webcodecsFrames, 0);
  assert.equal(s.underruns, 0);
  await plain.close();
});
