// What the browser tests share: the server under test, a headless
// Chromium that blocks autoplay as a listener's browser does, and the
// page's state.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const serverBin = process.env.AURALIS_HOST_BIN ?? join(here, "../../target/debug/auralis-host");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Starts the server; resolves with the process and its URL. */
export function startServer(addr = "127.0.0.1:0") {
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

export function stopServer(proc, signal = "SIGKILL") {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill(signal);
  });
}

/** Headless Chromium with autoplay blocked until a gesture. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Playwright allows autoplay by default; a listener's browser does not.
    // (Chromium's own default, a gesture first, is what a listener has; an
    // explicit --autoplay-policy=user-gesture-required does not block it.)
    ignoreDefaultArgs: ["--autoplay-policy=no-user-gesture-required"],
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A copy of the page's `window.auralis`. */
export const state = (page) => page.evaluate(() => ({ ...window.auralis }));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
