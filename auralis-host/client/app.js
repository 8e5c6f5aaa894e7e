// The Auralis web player: connects to /ws/stream in binary mode, plays the
// stream through an AudioWorklet with an adaptive jitter buffer, and keeps
// the listener's settings.

import { AdaptiveBuffer, Backoff, JitterTracker, decodeFrame } from "./jitter.js";

const SETTINGS_KEY = "auralis.settings";
const DEFAULTS = { key: 60, mode: "aeolian", bpm: 60, intensity: 0.5 };

// Everything the page knows, readable from the console and by tests.
const state = (window.auralis = {
  connection: "disconnected",
  params: null,
  lastParamsMessage: null,
  welcome: null,
  chunksReceived: 0,
  underruns: 0,
  playedSeconds: 0,
  audibleSeconds: 0,
  bufferMs: 0,
  targetMs: 400,
  connects: 0,
  audioState: "none",
  welcomeMs: null, // ms from navigation to the server's welcome
  firstAudioMs: null, // ms from navigation to the first sample played
  gain: 1, // the sleep timer's fade: 1 until it starts, 0 at its end
  sleepFading: false,
  errors: [],
});

const $ = (id) => document.getElementById(id);
const jitter = new JitterTracker(100);
const buffer = new AdaptiveBuffer();
const backoff = new Backoff();
let ws = null;
let audio = null;
let node = null;
let early = []; // frames that came before the worklet was ready
let lastUpdate = performance.now();
let sleepTimer = null;

function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}");
    return { ...DEFAULTS, ...saved };
  } catch {
    return { ...DEFAULTS };
  }
}

function saveSettings(s) {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
}

let settings = loadSettings();

function showSettings(s) {
  $("key").value = String(s.key);
  $("mode").value = s.mode;
  $("bpm").value = String(s.bpm);
  $("bpm-value").textContent = String(Math.round(s.bpm));
  $("intensity").value = String(s.intensity);
  $("intensity-value").textContent = Number(s.intensity).toFixed(2);
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === s.preset));
  }
}

function setConnection(c, text) {
  state.connection = c;
  const dot = $("indicator");
  dot.className = `dot ${c}`;
  const label = { connected: "Connected", buffering: "Buffering", disconnected: "Disconnected" }[c];
  $("status-text").textContent = text ? `${label} — ${text}` : label;
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ ...obj, timestamp: Date.now() / 1000 }));
  }
}

function sendParams() {
  const { key, mode, bpm, intensity } = settings;
  send({ type: "update_params", params: { key, mode, bpm, intensity } });
}

function showAudioState() {
  state.audioState = audio.state;
  // Where the browser blocks autoplay, the context stays suspended until a
  // gesture: then, and only then, the Play button shows.
  $("play").hidden = audio.state === "running";
}

async function startAudio(sampleRate) {
  if (!audio || audio.sampleRate !== sampleRate) {
    if (audio) await audio.close();
    audio = new AudioContext({ sampleRate, latencyHint: "playback" });
    audio.onstatechange = showAudioState;
    await audio.audioWorklet.addModule("/client/worklet.js");
    node = new AudioWorkletNode(audio, "auralis-player", { outputChannelCount: [2] });
    node.connect(audio.destination);
    node.port.onmessage = (e) => onWorklet(e.data);
    node.port.postMessage({ type: "target", ms: buffer.targetMs });
    for (const f of early) play(f);
    early = [];
  }
  // Not awaited: without a user gesture the promise stays pending.
  audio.resume().catch(() => {});
  showAudioState();
}

function onWorklet(m) {
  if (m.type === "started") {
    if (state.firstAudioMs === null) state.firstAudioMs = Math.round(performance.now());
  } else if (m.type === "underrun") {
    state.underruns = m.underruns;
    node.port.postMessage({ type: "target", ms: buffer.underrun() });
    if (state.connection === "connected") setConnection("buffering");
  } else if (m.type === "report") {
    state.bufferMs = m.depthMs;
    state.playedSeconds = m.playedSeconds;
    state.audibleSeconds = m.audibleSeconds;
    state.underruns = m.underruns;
    state.gain = m.gain;
    if (ws && ws.readyState === WebSocket.OPEN) {
      setConnection(m.playing ? "connected" : "buffering");
    }
    if (m.seq !== null) {
      send({ type: "report", seq: m.seq, buffer_ms: m.depthMs, underruns: m.underruns });
    }
    $("stats").textContent =
      `Buffer ${Math.round(m.depthMs)} ms (target ${Math.round(state.targetMs)}) · underruns ${m.underruns}`;
  }
}

function onText(msg) {
  if (msg.type === "welcome") {
    if (state.welcomeMs === null) state.welcomeMs = Math.round(performance.now());
    state.welcome = msg;
    state.params = msg.params;
    startAudio(msg.sample_rate);
    sendParams();
  } else if (msg.type === "params") {
    state.params = msg.params;
    state.lastParamsMessage = msg;
    settings = { ...settings, ...msg.params };
    saveSettings(settings);
    showSettings(settings);
  } else if (msg.type === "error") {
    state.errors.push(msg);
  }
}

function onAudio(data) {
  const frame = decodeFrame(data);
  if (!frame) return;
  state.chunksReceived++;
  if (!node) {
    // The server's first chunks can beat the worklet's start-up.
    if (early.length < 100) early.push(frame);
    return;
  }
  const now = performance.now();
  jitter.record(now);
  const target = buffer.update(jitter.jitterMs, now - lastUpdate);
  lastUpdate = now;
  if (Math.abs(target - state.targetMs) > 20) {
    state.targetMs = target;
    node.port.postMessage({ type: "target", ms: target });
  }
  play(frame);
}

function play(frame) {
  node.port.postMessage({ type: "chunk", seq: frame.seq, samples: frame.samples }, [
    frame.samples.buffer,
  ]);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/ws/stream?format=binary`);
  ws.binaryType = "arraybuffer";
  setConnection("buffering", "connecting");
  ws.onopen = () => {
    backoff.reset();
    state.connects++;
    jitter.reset();
  };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") {
      try {
        onText(JSON.parse(e.data));
      } catch {
        /* not JSON: ignore */
      }
    } else {
      onAudio(e.data);
    }
  };
  ws.onclose = () => {
    setConnection("disconnected", "reconnecting");
    if (node) node.port.postMessage({ type: "flush" });
    setTimeout(connect, backoff.next());
  };
}

function onControl() {
  settings = {
    key: Number($("key").value),
    mode: $("mode").value,
    bpm: Number($("bpm").value),
    intensity: Number($("intensity").value),
  };
  showSettings(settings);
  saveSettings(settings);
  sendParams();
}

/** Starts (or with 0, stops) the sleep timer: after `minutes`, a fade of
 * `fadeSeconds` to silence. */
function setSleepTimer(minutes, fadeSeconds = 60) {
  clearTimeout(sleepTimer);
  state.sleepFading = false;
  if (node) node.port.postMessage({ type: "unfade" });
  if (minutes <= 0) {
    $("timer-text").textContent = "";
    return;
  }
  const end = new Date(Date.now() + minutes * 60000);
  $("timer-text").textContent = `Fades out at ${end.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`;
  sleepTimer = setTimeout(() => {
    state.sleepFading = true;
    if (node) node.port.postMessage({ type: "fade", seconds: fadeSeconds });
    $("timer-text").textContent = "Fading out. Good night.";
  }, minutes * 60000);
}
// For tests and the curious: the same timer with any durations.
state.setSleepTimer = setSleepTimer;

window.addEventListener("DOMContentLoaded", () => {
  showSettings(settings);
  for (const id of ["key", "mode"]) $(id).addEventListener("change", onControl);
  for (const id of ["bpm", "intensity"]) {
    $(id).addEventListener("input", () => {
      $("bpm-value").textContent = $("bpm").value;
      $("intensity-value").textContent = Number($("intensity").value).toFixed(2);
    });
    $(id).addEventListener("change", onControl);
  }
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.addEventListener("click", () => {
      settings.preset = b.dataset.preset;
      saveSettings(settings);
      showSettings(settings);
      send({ type: "select_preset", preset: b.dataset.preset });
    });
  }
  $("sleep-timer").addEventListener("change", (e) => setSleepTimer(Number(e.target.value)));
  $("play").addEventListener("click", () => {
    if (audio) audio.resume().then(showAudioState, () => {});
  });
  connect();
});
