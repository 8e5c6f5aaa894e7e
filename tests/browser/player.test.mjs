// The web player in real headless Chromium against a real auralis-host:
// it plays at least 5 s of non-silent audio with no underrun, passes an
// axe-core accessibility check, follows a preset through the server's
// `params` message, reconnects by itself when the server restarts, and
// restores its settings on reload. A screenshot is saved.
//
//   AURALIS_HOST_BIN=target/debug/auralis-host node --test tests/browser/
//
// Run from `cargo test` by tests/tests/web_player.rs.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const serverBin = process.env.AURALIS_HOST_BIN ?? join(here, "../../target/debug/auralis-host");
const artifacts = process.env.AURALIS_ARTIFACTS ?? join(here, "../../target/test-artifacts");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Starts the server; resolves with the process and its URL. */
function startServer(addr = "127.0.0.1:0") {
  const proc = spawn(serverBin, ["--addr", addr], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout });
    lines.once("line", (line) => {
      const url = line.split(/\s+/).find((w) => w.startsWith("http://"));
      url ? resolve({ proc, url }) : reject(new Error(`no URL in ${line}`));
    });
    proc.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function stopServer(proc, signal = "SIGKILL") {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill(signal);
  });
}

const state = (page) => page.evaluate(() => ({ ...window.auralis }));

let server = await startServer();
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    // AURALIS_AUTOPLAY=1 measures first audio as a browser that allows
    // autoplay would; by default autoplay is blocked and Play is pressed.
    ...(process.env.AURALIS_AUTOPLAY ? ["--autoplay-policy=no-user-gesture-required"] : []),
  ],
});
after(async () => {
  await browser.close();
  await stopServer(server.proc, "SIGTERM");
});

const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
const page = await context.newPage();
page.on("pageerror", (e) => console.error("page error:", e));

test("plays at least 5 s of audible sound with no underrun", async () => {
  await page.goto(server.url);
  // Press Play if the browser blocked autoplay.
  const play = page.locator("#play");
  await page.waitForFunction(() => window.auralis.audioState !== "none", null, { timeout: 10_000 });
  const blocked = await play.isVisible();
  if (blocked) {
    await play.click();
  }
  await page.waitForFunction(() => window.auralis.firstAudioMs !== null, null, { timeout: 10_000 });
  const { firstAudioMs, welcomeMs } = await state(page);
  console.log(
    `welcome ${welcomeMs} ms, first audio ${firstAudioMs} ms after navigation (autoplay ${blocked ? "blocked: Play pressed" : "allowed"})`,
  );
  await page.waitForFunction(() => window.auralis.audibleSeconds >= 5, null, {
    timeout: 30_000,
    polling: 250,
  });
  const s = await state(page);
  assert.equal(s.underruns, 0, "no underrun");
  assert.ok(s.audibleSeconds >= 5, `${s.audibleSeconds} s audible`);
  assert.equal(s.audioState, "running");
  assert.equal(await play.isVisible(), false, "no Play button while playing");
  assert.equal(s.connection, "connected");
  assert.match(await page.locator("#status-text").innerText(), /Connected/);
  assert.ok(firstAudioMs < 5000, `first audio after ${firstAudioMs} ms`);
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
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    tabbable.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.preset || ""));
  }
  for (const id of ["focus", "meditation", "sleep", "bright", "key", "mode", "bpm", "intensity", "sleep-timer"]) {
    assert.ok(tabbable.includes(id), `${id} reachable by Tab: ${tabbable}`);
  }
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "web-player.png"), fullPage: true });
});

test("a preset goes to the server and its params message comes back to the UI", async () => {
  await page.getByRole("button", { name: "Sleep" }).click();
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.mode === "phrygian", null, {
    timeout: 15_000,
  });
  assert.equal(await page.locator("#mode").inputValue(), "phrygian");
  assert.equal(await page.locator("#bpm").inputValue(), "40");
  assert.equal(await page.locator("#intensity-value").innerText(), "0.20");
  assert.equal(await page.getByRole("button", { name: "Sleep" }).getAttribute("aria-pressed"), "true");
  // A control: the key, chosen with the keyboard.
  await page.locator("#key").selectOption("62");
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.key === 62, null, {
    timeout: 15_000,
  });
  assert.equal((await state(page)).params.mode, "phrygian", "the key change kept the mode");
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
  await page.waitForFunction(() => window.auralis.lastParamsMessage?.params?.key === 62, null, {
    timeout: 15_000,
  });
});
