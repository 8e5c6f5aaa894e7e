// The web player's service worker: after a first visit the page, its
// scripts and the engine are kept, so the page opens and plays (composing
// in the browser) with no network. Network first, so a listener online
// always gets the server's current files; the cache answers only when the
// network cannot. Streams, status and metrics are never cached.

const CACHE = "auralis-page-v1";
const FILES = [
  "/",
  "/client/app.js",
  "/client/jitter.js",
  "/client/worklet.js",
  "/client/engine-worklet.js",
  "/client/style.css",
  "/client/auralis.wasm",
  "/manifest.webmanifest",
  "/favicon.ico",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // One by one: a server without the engine (404) still caches the rest.
      Promise.all(FILES.map((f) => cache.add(f).catch(() => {}))),
    ).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const path = url.pathname === "/index.html" ? "/" : url.pathname;
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !FILES.includes(path)) {
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(path, copy));
        }
        return response;
      })
      .catch(() => caches.match(path).then((hit) => hit ?? Response.error())),
  );
});
