/* FieldBridge Time: storage, the offline action queue and sync. Plain JS, no build step.
 *
 * Every clock-in and clock-out is an action with client-made ids (UUIDs), kept in
 * localStorage until the server accepted it. The server de-duplicates by those ids, so an
 * action whose answer was lost is simply sent again. Actions go out in order, so a
 * clock-out never reaches the server before its clock-in.
 */
"use strict";

(function () {
  const KEY = "fieldbridge.time.";
  const API = "/api/v1";

  function load(name, fallback) {
    try {
      const raw = localStorage.getItem(KEY + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }

  function save(name, value) {
    localStorage.setItem(KEY + name, JSON.stringify(value));
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /* The server's rounding rule (timekeeping/allocation.py): whole minutes minus breaks,
   * then hundredths of an hour rounding half up. */
  function workedCentihours(startIso, endIso, breakMinutes) {
    const minutes = Math.floor((Date.parse(endIso) - Date.parse(startIso)) / 60000) - (breakMinutes || 0);
    return Math.floor((Math.max(0, minutes) * 100 + 30) / 60);
  }

  function formatHours(centi) {
    const whole = Math.floor(centi / 100);
    const frac = centi % 100;
    if (frac === 0) return String(whole);
    return `${whole}.${String(frac).padStart(2, "0")}`.replace(/0$/, "");
  }

  function parseFixed(text) {
    const t = String(text).trim();
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
    const [w, f = ""] = t.split(".");
    return Number(w) * 100 + Number((f + "00").slice(0, 2));
  }

  const state = {
    session: load("session", null), // {token, worker: {id, name, is_foreman}, company_name}
    queue: load("queue", []), // [{kind: "in"|"out", body, shift_ids}]
    shifts: load("shifts", {}), // shift id -> local view of the shift
    picker: load("picker", null),
    capability: load("capability", null),
    onTheClock: load("on_the_clock", []),
    lastError: null,
    // Names this phone to the server, which throttles wrong PINs per device.
    deviceId: load("device_id", null) || uuid(),
    // The worker whose sign-in ended (expired or revoked); their queue waits for them.
    lastWorkerId: load("last_worker", null),
  };

  function persist() {
    save("session", state.session);
    save("queue", state.queue);
    save("shifts", state.shifts);
    save("picker", state.picker);
    save("capability", state.capability);
    save("on_the_clock", state.onTheClock);
    save("device_id", state.deviceId);
    save("last_worker", state.lastWorkerId);
  }

  /* The server said 401: this phone's sign-in expired or was revoked (new PIN, deactivated).
   * Back to the sign-in screen; queued actions stay for the same worker's next sign-in. */
  async function sessionEnded(response) {
    state.lastError = await errorMessage(response);
    state.lastWorkerId = state.session && state.session.worker ? state.session.worker.id : null;
    state.session = null;
    persist();
  }

  async function api(path, options) {
    const headers = { Accept: "application/json" };
    if (state.session) headers.Authorization = `Bearer ${state.session.token}`;
    if (options && options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method: (options && options.method) || "GET",
      headers,
      body: options && options.body !== undefined ? JSON.stringify(options.body) : undefined,
      cache: "no-store",
    });
    return response;
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      return (body.error && body.error.message) || `HTTP ${response.status}`;
    } catch (e) {
      return `HTTP ${response.status}`;
    }
  }

  function mergeServerShifts(list) {
    for (const s of list) {
      const mine = state.shifts[s.shift_id] || {};
      const pending = state.queue.some((a) => a.shift_ids.includes(s.shift_id));
      state.shifts[s.shift_id] = Object.assign({}, mine, s, {
        sync: pending ? "pending" : "synced",
        error: null,
        // a clock-out still queued here is newer than what the server knows
        ended_at: mine.sync === "pending" && mine.ended_at ? mine.ended_at : s.ended_at,
      });
    }
  }

  function enqueue(kind, body, shiftIds) {
    state.queue.push({ kind, body, shift_ids: shiftIds });
    persist();
  }

  let syncing = false;

  /* Send queued actions in order. Stops at the first network error (tries again later);
   * an action the server refuses (4xx) is dropped from the queue and its shifts show why. */
  async function sync() {
    if (syncing || !state.session) return false;
    syncing = true;
    let progressed = false;
    try {
      while (state.queue.length) {
        const action = state.queue[0];
        let response;
        try {
          response = await api(action.kind === "in" ? "/time/clock-in" : "/time/clock-out", {
            method: "POST",
            body: action.body,
          });
        } catch (e) {
          break; // offline: keep everything
        }
        if (response.status >= 500 || response.status === 429 || response.status === 408) break;
        if (response.status === 401) {
          await sessionEnded(response);
          break;
        }
        state.queue.shift();
        progressed = true;
        if (response.ok) {
          mergeServerShifts((await response.json()).shifts);
        } else {
          const message = await errorMessage(response);
          for (const id of action.shift_ids) {
            const s = state.shifts[id];
            if (!s) continue;
            s.sync = "failed";
            s.error = message;
            if (action.kind === "in") s.ended_at = s.ended_at || s.started_at;
            if (action.kind === "out") s.ended_at = null;
          }
          state.lastError = message;
        }
        persist();
      }
    } finally {
      syncing = false;
    }
    return progressed;
  }

  /* Fresh server views when online: my shifts (with export status), who is on the clock. */
  async function refresh() {
    if (!state.session) return;
    try {
      const [mine, on, cap] = await Promise.all([
        api("/time/my-shifts"),
        api("/time/on-the-clock"),
        api("/time/capability"),
      ]);
      const ended = [mine, on, cap].find((r) => r.status === 401);
      if (ended) return sessionEnded(ended);
      if (mine.ok) mergeServerShifts(await mine.json());
      if (on.ok) state.onTheClock = await on.json();
      if (cap.ok) state.capability = await cap.json();
      persist();
    } catch (e) {
      /* offline: keep what we have */
    }
  }

  async function loadPicker() {
    try {
      const response = await api("/time/picker");
      if (response.ok) {
        state.picker = await response.json();
        persist();
      }
    } catch (e) {
      /* offline: the cached picker stays */
    }
    return state.picker;
  }

  async function signIn(companyCode, pin) {
    const response = await api("/auth/worker-sign-in", {
      method: "POST",
      body: { company_code: companyCode, pin, device_id: state.deviceId },
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const body = await response.json();
    state.session = { token: body.token, worker: body.worker, company_name: body.company_name };
    if (state.lastWorkerId !== body.worker.id) {
      state.queue = [];
      state.shifts = {};
    }
    state.lastWorkerId = null;
    state.lastError = null;
    persist();
  }

  function signOut() {
    state.session = null;
    state.lastWorkerId = null;
    state.picker = null;
    state.capability = null;
    persist();
  }

  window.FBStore = {
    state,
    persist,
    uuid,
    workedCentihours,
    formatHours,
    parseFixed,
    enqueue,
    sync,
    refresh,
    loadPicker,
    signIn,
    signOut,
  };
})();
