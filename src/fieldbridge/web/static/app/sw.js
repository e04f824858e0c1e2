/* FieldBridge Time service worker: the app shell works offline; the API is never cached. */
"use strict";

const CACHE = "fieldbridge-time-v1";
const SHELL = [
  "/app",
  "/app/manifest.webmanifest",
  "/static/app/app.css",
  "/static/app/store.js",
  "/static/app/app.js",
  "/static/app/i18n.json",
  "/static/app/icon.svg",
  "/static/app/icon-192.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // the network only: the app queues its own writes
  }
  // Network first (fresh code when online), the cache when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && SHELL.includes(url.pathname)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error()))
  );
});
