// The Auralis web player. Where the browser runs WebAssembly in an
// AudioWorklet and the server carries the engine (/client/auralis.wasm),
// the music is composed and synthesised in the page itself
// (engine-worklet.js): no stream, no server work, bit for bit the
// server's engine. Otherwise (or when the listener chooses it) it
// connects to /ws/stream, decodes Opus with WebCodecs where the browser
// has it (binary PCM otherwise), and plays through an AudioWorklet with
// an adaptive buffer. It keeps the listener's settings. Nothing sounds
// until the listener presses Play.

import {
  AdaptiveBuffer,
  Backoff,
  JitterTracker,
  decodeFrame,
  decodeOpusFrame,
} from "./jitter.js";

const SETTINGS_KEY = "auralis.settings";
const DEFAULTS = { key: 60, mode: "aeolian", bpm: 60, intensity: 0.5, volume: 0.8 };
const OPUS_RATE = 48000;
const KEY_NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];

// Everything the page knows, readable from the console and by tests.
const state = (window.auralis = {
  engine: null, // "browser" (the engine in this page) or "server" (its stream)
  engineAvailable: false, // the browser and the server can run the engine here
  serverAvailable: false, // a server answers here (not a static copy, not offline)
  dropouts: 0, // render quanta the audio thread missed (browser engine)
  renderMeanMs: 0, // the engine's cost per quantum, last quarter second
  connection: "disconnected",
  codec: null, // "opus" (WebCodecs) or "pcm"
  webcodecsFrames: 0, // Opus frames WebCodecs decoded
  params: null,
  lastParamsMessage: null,
  nowPlaying: null,
  welcome: null,
  chunksReceived: 0,
  underruns: 0,
  playedSeconds: 0,
  audibleSeconds: 0,
  skippedSeconds: 0,
  bufferMs: 0,
  targetMs: 200,
  connects: 0,
  audioState: "none",
  listening: false, // the listener wants sound (Play pressed, not paused)
  playingSeq: null, // the chunk playing now
  playingAt: {}, // seq -> performance.now() when it started playing
  welcomeMs: null, // ms from navigation to the server's welcome
  firstAudioMs: null, // ms from navigation to the first sample played
  playPressedMs: null, // when Play was last pressed
  startDelayMs: null, // from Play to the first sample played
  volume: DEFAULTS.volume,
  levelIn: 0, // RMS before the volume control
  levelOut: 0, // RMS after it
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
let volume = null;
let meters = null;
let decoder = null;
let lastUpdate = performance.now();
let sleepTimer = null;
let skipNoteTimer = null;

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
  $("volume").value = String(Math.round(s.volume * 100));
  $("volume-value").textContent = `${Math.round(s.volume * 100)}%`;
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === s.preset));
  }
  const q = new URLSearchParams({
    key: s.key,
    mode: s.mode,
    bpm: s.bpm,
    intensity: s.intensity,
  });
  $("listen-link").href = `/listen?${q}`;
}

const LABELS = {
  connected: "Connected",
  buffering: "Buffering",
  paused: "Paused",
  disconnected: "Disconnected",
};

function setConnection(c, text) {
  state.connection = c;
  $("indicator").className = `dot ${c}`;
  $("status-text").textContent = text ? `${LABELS[c]} — ${text}` : LABELS[c];
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ ...obj, timestamp: Date.now() / 1000 }));
  }
}

function sendParams() {
  const { key, mode, bpm, intensity } = settings;
  if (state.engine === "browser") {
    if (node) node.port.postMessage({ type: "params", key, mode, bpm, intensity });
    return;
  }
  send({ type: "update_params", params: { key, mode, bpm, intensity } });
}

const PRESETS = ["focus", "meditation", "sleep", "bright"];

/** The compiled engine, or null where this browser or server cannot run it. */
async function loadEngine() {
  if (typeof WebAssembly !== "object" || !("AudioWorkletNode" in window)) return null;
  try {
    const r = await fetch("/client/auralis.wasm");
    if (!r.ok) return null;
    return await WebAssembly.compile(await r.arrayBuffer());
  } catch (e) {
    state.errors.push(`engine: ${e.message}`);
    return null;
  }
}

/** Whether a server streams here (a static copy from `export-web`, or a
 * page opened offline, has none). */
async function serverAnswers() {
  try {
    return (await fetch("/healthz", { cache: "no-store" })).ok;
  } catch {
    return false;
  }
}

/** Which engine plays: `?engine=` if given, else the listener's choice,
 * else the browser's own where it can; the browser's whenever no server
 * streams. */
function chooseEngine(available, server) {
  if (!available) return "server";
  if (!server) return "browser";
  const asked = new URLSearchParams(location.search).get("engine") ?? settings.engine;
  return asked === "server" ? "server" : "browser";
}

function showEngine() {
  const local = state.engine === "browser";
  $("engine-text").textContent = local
    ? "Composed in this browser."
    : "Streamed from the server.";
  const b = $("engine-switch");
  b.hidden = !(state.engineAvailable && state.serverAvailable);
  // The Ogg stream for other players is the server's.
  $("listen-link").closest("p").hidden = !state.serverAvailable;
  b.textContent = local ? "Stream from the server instead" : "Compose in this browser instead";
}

/** The audio graph with the engine itself in the worklet. */
async function ensureEngineAudio(module) {
  audio = new AudioContext({ sampleRate: OPUS_RATE, latencyHint: "playback" });
  state.audio = audio;
  audio.onstatechange = showAudioState;
  await audio.audioWorklet.addModule("/client/engine-worklet.js");
  node = new AudioWorkletNode(audio, "auralis-engine", { outputChannelCount: [2] });
  connectGraph();
  node.port.onmessage = (e) => onEngine(e.data);
  const seed = crypto.getRandomValues(new Uint32Array(2));
  const { key, mode, bpm, intensity } = settings;
  node.port.postMessage({
    type: "init",
    module,
    seed: seed[0] * 2 ** 21 + (seed[1] >>> 11),
    key,
    mode,
    bpm,
    intensity,
  });
  showAudioState();
}

/** Messages from the engine in the worklet. */
function onEngine(m) {
  if (m.type === "ready") {
    if (!state.listening) setConnection("paused", "press Play to listen");
  } else if (m.type === "started") {
    onWorklet(m);
  } else if (m.type === "now_playing") {
    state.params = { key: settings.key, mode: m.mode, bpm: m.bpm, intensity: m.intensity };
    if (m.mode !== settings.mode || m.bpm !== settings.bpm || m.intensity !== settings.intensity) {
      // A preset took effect: the controls follow, as the server's
      // params message makes them.
      state.lastParamsMessage = { params: state.params, receivedAt: performance.now() };
      settings = { ...settings, mode: m.mode, bpm: m.bpm, intensity: m.intensity };
      saveSettings(settings);
      showSettings(settings);
    }
    state.nowPlaying = { key: m.key, mode: m.mode, chord: m.chord };
    showNowPlaying();
  } else if (m.type === "report") {
    state.playedSeconds = m.playedSeconds;
    state.audibleSeconds = m.audibleSeconds;
    state.dropouts = m.dropouts;
    state.gain = m.gain;
    state.renderMeanMs = m.renderMeanMs;
    meter();
    const share = ((m.renderMeanMs / ((128 / OPUS_RATE) * 1000)) * 100).toFixed(1);
    $("stats").textContent = `In this browser · rendering ${share}% of real time · dropouts ${m.dropouts}`;
  } else if (m.type === "error") {
    state.errors.push(`engine: ${m.message}`);
  }
}

function showPlayButton() {
  const b = $("play");
  b.textContent = state.listening ? "Pause" : "Play";
  b.setAttribute("aria-label", state.listening ? "Pause the music" : "Play the music");
  if ("mediaSession" in navigator) {
    navigator.mediaSession.playbackState = state.listening ? "playing" : "paused";
  }
}

function showAudioState() {
  state.audioState = audio ? audio.state : "none";
}

/** Opus through WebCodecs where the browser decodes it, PCM otherwise. */
async function chooseCodec() {
  if (!("AudioDecoder" in window)) return "pcm";
  try {
    const s = await AudioDecoder.isConfigSupported({
      codec: "opus",
      sampleRate: OPUS_RATE,
      numberOfChannels: 2,
    });
    return s.supported ? "opus" : "pcm";
  } catch {
    return "pcm";
  }
}

/** The audio graph at `sampleRate`: worklet → meter → volume → meter → out. */
async function ensureAudio(sampleRate) {
  if (audio && audio.sampleRate === sampleRate) return;
  if (audio) await audio.close();
  audio = new AudioContext({ sampleRate, latencyHint: "playback" });
  state.audio = audio;
  audio.onstatechange = showAudioState;
  await audio.audioWorklet.addModule("/client/worklet.js");
  node = new AudioWorkletNode(audio, "auralis-player", { outputChannelCount: [2] });
  connectGraph();
  node.port.onmessage = (e) => onWorklet(e.data);
  node.port.postMessage({ type: "target", ms: buffer.targetMs });
  // Before Play the context stays suspended; after it (a new rate from
  // the welcome), it starts at once.
  if (state.listening) {
    audio.resume().catch(() => {});
    await Promise.race([
      new Promise((r) => setTimeout(r, 250)),
      new Promise((r) => {
        if (audio.state === "running") r();
        audio.addEventListener("statechange", r, { once: true });
      }),
    ]);
  }
  showAudioState();
}

/** node → meter → volume → meter → out. */
function connectGraph() {
  volume = audio.createGain();
  volume.gain.value = settings.volume;
  const pre = audio.createAnalyser();
  const post = audio.createAnalyser();
  node.connect(pre);
  node.connect(volume);
  volume.connect(post);
  volume.connect(audio.destination);
  meters = { pre, post, data: new Float32Array(2048) };
}

function rms(analyser) {
  analyser.getFloatTimeDomainData(meters.data);
  let sum = 0;
  for (const x of meters.data) sum += x * x;
  return Math.sqrt(sum / meters.data.length);
}

function meter() {
  if (!meters || !audio || audio.state !== "running") return;
  state.levelIn = rms(meters.pre);
  state.levelOut = rms(meters.post);
}

function makeDecoder() {
  if (decoder && decoder.state !== "closed") decoder.close();
  decoder = new AudioDecoder({
    output: onDecoded,
    error: (e) => state.errors.push(`decoder: ${e.message}`),
  });
  decoder.configure({ codec: "opus", sampleRate: OPUS_RATE, numberOfChannels: 2 });
}

/** A decoded 20 ms piece: interleave and queue it (the first piece of a
 * chunk carries the chunk's seq). */
function onDecoded(data) {
  const frames = data.numberOfFrames;
  const l = new Float32Array(frames);
  const r = new Float32Array(frames);
  data.copyTo(l, { planeIndex: 0, format: "f32-planar" });
  data.copyTo(r, { planeIndex: data.numberOfChannels > 1 ? 1 : 0, format: "f32-planar" });
  const piece = Math.round(data.timestamp / 20000);
  data.close();
  state.webcodecsFrames++;
  if (!state.listening) return;
  const samples = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    samples[2 * i] = l[i];
    samples[2 * i + 1] = r[i];
  }
  const seq = piece % 5 === 0 ? piece / 5 : null;
  node.port.postMessage({ type: "chunk", seq, samples }, [samples.buffer]);
}

function onWorklet(m) {
  if (m.type === "started") {
    const now = Math.round(performance.now());
    if (state.firstAudioMs === null) state.firstAudioMs = now;
    if (state.playPressedMs !== null && state.startDelayMs === null) {
      state.startDelayMs = now - state.playPressedMs;
    }
  } else if (m.type === "underrun") {
    state.underruns = m.underruns;
    node.port.postMessage({ type: "target", ms: buffer.underrun() });
    if (state.connection === "connected") setConnection("buffering", "the network was late");
  } else if (m.type === "playing") {
    state.playingSeq = m.seq;
    state.playingAt[m.seq] = performance.now();
    delete state.playingAt[m.seq - 100]; // keep the last ten seconds only
    send({ type: "report", seq: m.seq, buffer_ms: m.depthMs, underruns: state.underruns });
  } else if (m.type === "skipped") {
    const s = (m.ms / 1000).toFixed(1);
    setConnection("connected", `caught up after a stall (skipped ${s} s)`);
    clearTimeout(skipNoteTimer);
    skipNoteTimer = setTimeout(() => {
      if (state.connection === "connected") setConnection("connected");
    }, 4000);
  } else if (m.type === "report") {
    state.bufferMs = m.depthMs;
    state.playedSeconds = m.playedSeconds;
    state.audibleSeconds = m.audibleSeconds;
    state.skippedSeconds = m.skippedSeconds;
    state.underruns = m.underruns;
    state.gain = m.gain;
    meter();
    if (ws && ws.readyState === WebSocket.OPEN && state.listening) {
      if (m.playing && state.connection === "buffering") setConnection("connected");
      if (!m.playing && state.connection === "connected") setConnection("buffering");
    }
    $("stats").textContent =
      `Buffer ${Math.round(m.depthMs)} ms (target ${Math.round(state.targetMs)}) · ` +
      `underruns ${m.underruns} · ${state.codec === "opus" ? "Opus" : "PCM"}`;
  }
}

function showNowPlaying() {
  const n = state.nowPlaying;
  if (!n) return;
  const chord = n.chord ? ` · chord ${n.chord.replace(":", " ")}` : "";
  $("now-playing").textContent = `${n.key} ${n.mode}${chord}`;
  if ("mediaSession" in navigator && "MediaMetadata" in window) {
    navigator.mediaSession.metadata = new MediaMetadata({
      title: `${n.key} ${n.mode}`,
      artist: "Auralis",
      album: "Ambient music, composed live",
    });
  }
}

function onText(msg) {
  if (msg.type === "welcome") {
    if (state.welcomeMs === null) state.welcomeMs = Math.round(performance.now());
    state.welcome = msg;
    state.params = msg.params;
    state.nowPlaying = {
      key: KEY_NAMES[msg.params.key % 12],
      mode: msg.params.mode,
      chord: null,
    };
    showNowPlaying();
    ensureAudio(msg.sample_rate).then(showAudioState);
    sendParams();
  } else if (msg.type === "params") {
    state.params = msg.params;
    state.lastParamsMessage = { ...msg, receivedAt: performance.now() };
    settings = { ...settings, ...msg.params };
    saveSettings(settings);
    showSettings(settings);
  } else if (msg.type === "now_playing") {
    state.nowPlaying = msg;
    showNowPlaying();
  } else if (msg.type === "status") {
    if (msg.state === "paused") setConnection("paused", "press Play to listen");
    else if (msg.state === "connected" && state.listening) setConnection("buffering", "starting");
  } else if (msg.type === "error") {
    state.errors.push(msg);
  }
}

function onAudio(data) {
  if (!state.listening || !node) return; // paused: what was in flight is dropped
  const now = performance.now();
  if (state.codec === "opus") {
    const f = decodeOpusFrame(data);
    if (!f) return;
    state.chunksReceived++;
    track(now);
    if (!decoder || decoder.state === "closed") makeDecoder();
    f.packets.forEach((p, i) => {
      decoder.decode(
        new EncodedAudioChunk({ type: "key", timestamp: (f.seq * 5 + i) * 20000, data: p }),
      );
    });
  } else {
    const frame = decodeFrame(data);
    if (!frame) return;
    state.chunksReceived++;
    track(now);
    node.port.postMessage({ type: "chunk", seq: frame.seq, samples: frame.samples }, [
      frame.samples.buffer,
    ]);
  }
}

let runChunks = 0; // chunks since the stream (re)started

/** Follows the arrival jitter and moves the buffer's target with it. */
function track(now) {
  // The server sends a run's first two chunks at once, by design: that
  // burst is no network jitter.
  if (++runChunks <= 2) jitter.reset();
  jitter.record(now);
  const target = buffer.update(jitter.jitterMs, now - lastUpdate);
  lastUpdate = now;
  if (Math.abs(target - state.targetMs) > 20) {
    state.targetMs = target;
    node.port.postMessage({ type: "target", ms: target });
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ format: "binary" });
  if (state.codec === "opus") q.set("codec", "opus");
  if (!state.listening) q.set("paused", "1");
  ws = new WebSocket(`${proto}//${location.host}/ws/stream?${q}`);
  ws.binaryType = "arraybuffer";
  setConnection("buffering", "connecting");
  ws.onopen = () => {
    backoff.reset();
    state.connects++;
    jitter.reset();
    runChunks = 0;
    if (!state.listening) setConnection("paused", "press Play to listen");
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

/** Play: the audio starts (a gesture lets the browser run it) and the
 * server streams afresh. */
async function play() {
  state.listening = true;
  if (state.engine === "browser") {
    state.playPressedMs = Math.round(performance.now());
    state.startDelayMs = null;
    showPlayButton();
    node.port.postMessage({ type: "play" });
    setConnection("connected", "composed in this browser");
    await audio.resume().catch(() => {});
    showAudioState();
    return;
  }
  jitter.reset(); // the pause was no network jitter
  runChunks = 0;
  state.playPressedMs = Math.round(performance.now());
  state.startDelayMs = null;
  showPlayButton();
  if (node) node.port.postMessage({ type: "flush" });
  if (decoder && decoder.state === "configured") decoder.reset();
  if (decoder && decoder.state !== "closed") decoder.configure({ codec: "opus", sampleRate: OPUS_RATE, numberOfChannels: 2 });
  setConnection("buffering", "starting");
  send({ type: "resume" });
  if (audio) await audio.resume().catch(() => {});
  showAudioState();
}

/** Pause: the server stops rendering this stream; nothing stale is kept. */
function pause() {
  state.listening = false;
  if (state.engine === "browser") {
    showPlayButton();
    node.port.postMessage({ type: "pause" });
    setConnection("paused", "press Play to listen");
    return;
  }
  jitter.reset();
  showPlayButton();
  send({ type: "pause" });
  if (node) node.port.postMessage({ type: "flush" });
  setConnection("paused", "press Play to listen");
}

function onControl() {
  settings = {
    ...settings,
    key: Number($("key").value),
    mode: $("mode").value,
    bpm: Number($("bpm").value),
    intensity: Number($("intensity").value),
  };
  showSettings(settings);
  saveSettings(settings);
  sendParams();
}

function onVolume() {
  settings.volume = Number($("volume").value) / 100;
  state.volume = settings.volume;
  $("volume-value").textContent = `${Math.round(settings.volume * 100)}%`;
  // A short glide: a volume change never clicks.
  if (volume) volume.gain.setTargetAtTime(settings.volume, audio.currentTime, 0.015);
  saveSettings(settings);
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

async function boot() {
  if ("serviceWorker" in navigator) {
    // Keeps the page and the engine for visits with no network (sw.js).
    navigator.serviceWorker.register("/sw.js").catch((e) => state.errors.push(`service worker: ${e.message}`));
  }
  const [module, server] = await Promise.all([loadEngine(), serverAnswers()]);
  state.engineAvailable = module !== null;
  state.serverAvailable = server;
  state.engine = chooseEngine(state.engineAvailable, server);
  showEngine();
  if (state.engine === "browser") {
    state.listening = false;
    showPlayButton();
    setConnection("paused", "press Play to listen");
    await ensureEngineAudio(module);
    return;
  }
  state.codec = await chooseCodec();
  // Opus is always 48 kHz; PCM's rate comes with the welcome.
  await ensureAudio(state.codec === "opus" ? OPUS_RATE : 44100);
  // Every page starts paused, whatever the browser's autoplay policy
  // would allow: the server renders nothing for a tab nobody started, and
  // the listener decides when sound begins. The status says to press Play.
  state.listening = false;
  showPlayButton();
  connect();
}

window.addEventListener("DOMContentLoaded", () => {
  state.volume = settings.volume;
  showSettings(settings);
  for (const id of ["key", "mode"]) $(id).addEventListener("change", onControl);
  for (const id of ["bpm", "intensity"]) {
    $(id).addEventListener("input", () => {
      $("bpm-value").textContent = $("bpm").value;
      $("intensity-value").textContent = Number($("intensity").value).toFixed(2);
    });
    $(id).addEventListener("change", onControl);
  }
  $("volume").addEventListener("input", onVolume);
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.addEventListener("click", () => {
      settings.preset = b.dataset.preset;
      saveSettings(settings);
      showSettings(settings);
      if (state.engine === "browser") {
        node?.port.postMessage({ type: "preset", index: PRESETS.indexOf(b.dataset.preset) });
      } else {
        send({ type: "select_preset", preset: b.dataset.preset });
      }
    });
  }
  $("sleep-timer").addEventListener("change", (e) => setSleepTimer(Number(e.target.value)));
  $("engine-switch").addEventListener("click", () => {
    // The other engine, from a fresh page: settings are kept.
    settings.engine = state.engine === "browser" ? "server" : "browser";
    saveSettings(settings);
    location.assign(location.pathname);
  });
  $("play").addEventListener("click", () => (state.listening ? pause() : play()));
  if ("mediaSession" in navigator) {
    navigator.mediaSession.setActionHandler("play", () => play());
    navigator.mediaSession.setActionHandler("pause", () => pause());
  }
  setInterval(meter, 250);
  boot();
});
