// The web player with the engine in the page (auralis-wasm in an
// AudioWorklet), in real headless Chromium against a real auralis-host
// whose streaming routes the page cannot reach (Playwright aborts every
// request to /ws/stream and /listen): it plays after Play, audibly, with
// no dropout; a preset takes effect; the server renders nothing; the
// engine is served gzipped; the listener can switch to the server's
// stream and back; `export-web`'s static copy plays from Python's
// http.server; and after a first visit the page plays with the server
// gone (its service worker).
//
//   AURALIS_HOST_BIN=target/debug/auralis-host node --test tests/browser/
//
// Run from `cargo test` by tests/tests/web_player.rs.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser, serverBin, sleep, startServer, state, stopServer } from "./harness.mjs";

const server = await startServer();
const browser = await launchBrowser();
after(async () => {
  await browser.close();
  await stopServer(server.proc, "SIGTERM");
});

const context = await browser.newContext({ viewport: { width: 1024, height: 1100 } });
const blocked = [];
for (const route of ["**/ws/stream**", "**/listen**"]) {
  await context.route(route, (r) => {
    blocked.push(r.request().url());
    return r.abort();
  });
}
const page = await context.newPage();
page.on("pageerror", (e) => console.error("page error:", e));
const status = async () => (await fetch(`${server.url}api/status`)).json();

/** The raw response to a GET (no decompression), as Node's http gives it. */
function get(path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("the engine is served, gzipped to a browser, within its size budget", async () => {
  const gz = await get("/client/auralis.wasm", { "accept-encoding": "gzip, deflate, br" });
  assert.equal(gz.headers["content-type"], "application/wasm");
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.ok(gz.body.length <= 350 * 1024, `${gz.body.length} bytes gzipped`);
  const raw = await get("/client/auralis.wasm", {});
  assert.equal(raw.headers["content-encoding"], undefined);
  assert.ok(raw.body.length <= 600 * 1024, `${raw.body.length} bytes`);
  assert.ok(raw.body.length > gz.body.length);
  assert.ok(WebAssembly.validate(raw.body), "a valid module");
  console.log(`auralis.wasm: ${raw.body.length} bytes, ${gz.body.length} gzipped`);
});

test("with the stream routes unreachable the page plays its own engine after Play", async () => {
  await page.goto(server.url);
  await page.waitForFunction(() => window.auralis.engine !== null, null, { timeout: 10_000 });
  let s = await state(page);
  assert.equal(s.engine, "browser");
  assert.match(await page.locator("#engine-text").innerText(), /Composed in this browser/);
  await page.waitForFunction(() => window.auralis.nowPlaying !== null, null, { timeout: 10_000 });
  await sleep(500);
  s = await state(page);
  assert.equal(s.playedSeconds, 0, "nothing sounds before Play");
  assert.match(await page.locator("#status-text").innerText(), /Paused — press Play/);
  await page.getByRole("button", { name: "Play the music" }).click();
  await page.waitForFunction(() => window.auralis.startDelayMs !== null, null, { timeout: 5_000 });
  await page.waitForFunction(() => window.auralis.audibleSeconds >= 10, null, {
    timeout: 30_000,
    polling: 250,
  });
  s = await state(page);
  console.log(
    `in-page engine: sound ${s.startDelayMs} ms after Play; ${s.playedSeconds.toFixed(1)} s played, ` +
      `${s.audibleSeconds.toFixed(1)} s audible, ${s.dropouts} dropouts, ` +
      `${s.renderMeanMs.toFixed(3)} ms per 128-frame quantum`,
  );
  assert.equal(s.dropouts, 0, "no dropout");
  assert.ok(s.levelIn > 0.003, `level ${s.levelIn}`);
  assert.equal(s.audioState, "running");
  assert.equal(s.chunksReceived, 0, "nothing came from the server");
  assert.match(s.nowPlaying.chord ?? "", /^[A-G]/, "now playing names the chord");
  assert.match(await page.locator("#now-playing").innerText(), /C aeolian/);
  const st = await status();
  assert.equal(st.streams_rendering ?? 0, 0, "the server renders nothing for it");
  assert.equal(st.paused_streams ?? 0, 0);
  assert.deepEqual(blocked, [], "the page never asked for a stream");
});

test("a preset takes effect in the page's engine and the controls follow", async () => {
  await page.getByRole("button", { name: "Sleep" }).click();
  await page.waitForFunction(() => window.auralis.nowPlaying?.mode === "phrygian", null, {
    timeout: 10_000,
  });
  assert.equal(await page.locator("#mode").inputValue(), "phrygian");
  const before = (await state(page)).audibleSeconds;
  await sleep(2_000);
  const s = await state(page);
  assert.ok(s.audibleSeconds > before + 1, "still playing");
  assert.equal(s.dropouts, 0);
});

test("the sleep timer fades the page's engine to silence", async () => {
  // Six seconds, then a two-second fade (the page's own timer, shortened).
  await page.evaluate(() => window.auralis.setSleepTimer(0.1, 2));
  await page.waitForFunction(() => window.auralis.sleepFading, null, { timeout: 15_000 });
  await page.waitForFunction(() => window.auralis.gain === 0, null, { timeout: 10_000, polling: 100 });
  await sleep(500);
  const s = await state(page);
  assert.equal(s.levelIn, 0, "silent after the fade");
  assert.equal(s.listening, true, "still playing, at no volume");
  await page.evaluate(() => window.auralis.setSleepTimer(0));
  await page.waitForFunction(() => window.auralis.gain === 1 && window.auralis.levelIn > 0.003, null, {
    timeout: 10_000,
    polling: 100,
  });
});

test("pause stops the engine; the switch streams from the server, and back", async () => {
  await page.getByRole("button", { name: "Pause the music" }).click();
  await sleep(600);
  const paused = (await state(page)).playedSeconds;
  await sleep(1_000);
  assert.equal((await state(page)).playedSeconds, paused, "nothing rendered while paused");

  await context.unrouteAll({ behavior: "ignoreErrors" });
  // The switch loads the page afresh: `window.auralis` is missing for a
  // moment.
  await page.getByRole("button", { name: "Stream from the server instead" }).click();
  await page.waitForFunction(() => window.auralis?.welcome != null, null, { timeout: 10_000 });
  let s = await state(page);
  assert.equal(s.engine, "server");
  assert.match(await page.locator("#engine-text").innerText(), /Streamed from the server/);
  await page.getByRole("button", { name: "Compose in this browser instead" }).click();
  await page.waitForFunction(() => window.auralis?.engine === "browser", null, { timeout: 10_000 });
  s = await state(page);
  assert.equal(s.welcome, null, "no stream opened");
});

/** Plays for `seconds` audible seconds on `page`, which must be paused
 * with the engine in it; returns its state. */
async function playsHere(page, seconds) {
  await page.waitForFunction(() => window.auralis?.engine === "browser" && window.auralis.nowPlaying !== null, null, {
    timeout: 10_000,
  });
  await page.getByRole("button", { name: "Play the music" }).click();
  await page.waitForFunction((s) => window.auralis.audibleSeconds >= s, seconds, { timeout: 30_000, polling: 250 });
  const s = await state(page);
  assert.equal(s.dropouts, 0);
  assert.ok(s.levelIn > 0.003, `level ${s.levelIn}`);
  return s;
}

test("export-web's static copy plays from Python's http.server", async () => {
  const dir = mkdtempSync(join(tmpdir(), "auralis-site-"));
  execFileSync(serverBin, ["export-web", dir], { stdio: "ignore" });
  const python = spawn("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      createInterface({ input: python.stdout }).once("line", (line) => {
        const m = line.match(/port (\d+)/);
        m ? resolve(`http://127.0.0.1:${m[1]}/`) : reject(new Error(line));
      });
      python.once("exit", (code) => reject(new Error(`http.server exited with ${code}`)));
    });
    const site = await browser.newContext();
    const p = await site.newPage();
    await p.goto(url);
    const s = await playsHere(p, 3);
    assert.equal(s.serverAvailable, false, "no server there");
    assert.equal(await p.locator("#engine-switch").isHidden(), true, "nothing to switch to");
    await site.close();
  } finally {
    python.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("after a first visit the page plays with the server gone (service worker)", async () => {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10_000 });
  // Everything the worker keeps has been fetched through it at least
  // once by now; the server goes away for good.
  await page.waitForFunction(() => window.auralis?.nowPlaying != null, null, { timeout: 10_000 });
  await stopServer(server.proc, "SIGKILL");
  await page.reload();
  const s = await playsHere(page, 3);
  assert.equal(s.serverAvailable, false);
});
