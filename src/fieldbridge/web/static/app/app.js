/* FieldBridge Time: the screens. Uses only the public /api/v1 through FBStore. */
"use strict";

(function () {
  const S = window.FBStore;
  const st = S.state;
  const view = document.getElementById("view");
  const ui = { screen: "home", dict: {}, all: {}, lang: localStorage.getItem("fieldbridge.time.lang") || "en" };

  // -- helpers ------------------------------------------------------------------------------
  function t(key, vars) {
    let text = (ui.dict && ui.dict[key]) || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
    return text;
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function show(...nodes) {
    view.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  }

  /* Wall time on the clock of `zone` (a shift's: its project's, else the company's), with the
   * zone's short name ("11:30 PM MST") unless `bare`. Without a zone (a shift not synced yet): this phone's. */
  function hhmm(iso, zone, bare) {
    const options = { hour: "2-digit", minute: "2-digit" };
    if (!bare) options.timeZoneName = "short";
    if (zone) options.timeZone = zone;
    try {
      return new Date(iso).toLocaleTimeString(ui.lang, options);
    } catch (e) {
      delete options.timeZone; // a zone this browser does not know
      return new Date(iso).toLocaleTimeString(ui.lang, options);
    }
  }

  /* The day a shift belongs to ("Thu, Nov 26"): the server's work date, else its start on the phone's clock. */
  function shiftDay(s) {
    const options = { weekday: "short", month: "short", day: "numeric" };
    if (s.work_date) return new Date(`${s.work_date}T12:00:00Z`).toLocaleDateString(ui.lang, { ...options, timeZone: "UTC" });
    return new Date(s.started_at).toLocaleDateString(ui.lang, options);
  }

  /* What the phone says about a shift in Procore: the worker's words, never the office's to-do. */
  function exportText(s) {
    if (s.sync === "failed") return s.error;
    if (s.sync !== "synced") return t("waiting");
    const key = `ws_${s.worker_state}`;
    return ui.dict[key] ? t(key) : s.worker_status;
  }

  function me() {
    return st.session && st.session.worker;
  }

  function milestoneIndex() {
    const out = {};
    for (const p of (st.picker && st.picker.projects) || []) {
      for (const s of p.sub_jobs) {
        for (const m of s.milestones) {
          out[m.id] = { id: m.id, name: m.name, recent: m.recent, project: p, sub: s, place: `${p.name} / ${s.name} / ${m.name}` };
        }
      }
    }
    return out;
  }

  function go(screen) {
    ui.screen = screen;
    render();
    view.focus();
    window.scrollTo(0, 0);
  }

  function notice(text, kind) {
    return text ? h("p", { class: `msg ${kind || ""}`, role: kind === "error" ? "alert" : "status" }, text) : null;
  }

  // -- language and network -----------------------------------------------------------------
  async function loadLanguages() {
    try {
      const response = await fetch("/static/app/i18n.json");
      ui.all = await response.json();
      localStorage.setItem("fieldbridge.time.i18n", JSON.stringify(ui.all));
    } catch (e) {
      ui.all = JSON.parse(localStorage.getItem("fieldbridge.time.i18n") || "{}");
    }
    setLanguage(ui.lang);
  }

  function setLanguage(lang) {
    ui.lang = ui.all[lang] ? lang : "en";
    ui.dict = ui.all[ui.lang] || {};
    localStorage.setItem("fieldbridge.time.lang", ui.lang);
    document.documentElement.lang = ui.lang;
    const button = document.getElementById("lang");
    const other = ui.lang === "en" ? "es" : "en";
    button.textContent = t("lang_other");
    button.setAttribute("lang", other);
  }

  function paintNet() {
    const net = document.getElementById("net");
    net.textContent = navigator.onLine ? t("online") : t("offline");
    net.className = navigator.onLine ? "net on" : "net off";
  }

  // -- sign in --------------------------------------------------------------------------------
  function signInScreen() {
    const code = h("input", { id: "company", name: "company", autocomplete: "organization", autocapitalize: "characters", required: true });
    const pin = h("input", { id: "pin", name: "pin", type: "password", inputmode: "numeric", autocomplete: "current-password", required: true });
    const form = h(
      "form",
      {
        class: "card",
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await S.signIn(code.value.trim(), pin.value.trim());
            ui.message = null;
            await Promise.all([S.refresh(), S.loadPicker()]);
            go("home");
          } catch (e) {
            ui.message = `${t("signin_failed")}: ${e.message}`;
            render();
          }
        },
      },
      h("h1", {}, t("signin_title")),
      notice(ui.message, "error"),
      h("label", { for: "company" }, t("company_code")),
      code,
      h("label", { for: "pin" }, t("pin")),
      pin,
      h("button", { type: "submit", id: "signin", class: "big primary" }, t("signin"))
    );
    show(form);
  }

  // -- home -----------------------------------------------------------------------------------
  function openGroups() {
    const groups = {};
    const myId = me().id;
    for (const s of Object.values(st.shifts)) {
      if (s.ended_at || s.sync === "failed") continue;
      if (s.worker_id !== myId && s.clocked_in_by_id !== myId && s.clocked_in_by !== me().name) continue;
      (groups[s.clock_in_id] = groups[s.clock_in_id] || []).push(s);
    }
    return Object.values(groups).sort((a, b) => a[0].started_at.localeCompare(b[0].started_at));
  }

  function syncBadge(s) {
    const label = { pending: t("pending"), synced: t("synced"), failed: t("failed") }[s.sync] || t("pending");
    return h("span", { class: `badge ${s.sync || "pending"}` }, label);
  }

  function shiftRow(s) {
    const hours = s.hours ? ` · ${t("hours_short", { hours: s.hours })}` : "";
    const status = exportText(s);
    const times = s.ended_at ? `${hhmm(s.started_at, s.time_zone, true)} – ${hhmm(s.ended_at, s.time_zone)}` : `${hhmm(s.started_at, s.time_zone)} – ${t("on_clock")}`;
    return h(
      "li",
      { class: "shift", "data-shift": s.shift_id },
      h("div", { class: "row1" }, h("strong", {}, s.worker_name), " ", syncBadge(s)),
      h("div", {}, s.place),
      h("div", { class: "muted when" }, h("span", { class: "day" }, shiftDay(s)), ` · ${times}${hours}`),
      (s.allocations || []).length > 1 ? s.allocations.map((a) => h("div", { class: "muted alloc" }, `${a.hours} h → ${a.label.split(" / ").pop()}`)) : null,
      status ? h("div", { class: `export ${s.worker_state || s.export_state || ""}` }, status) : null
    );
  }

  function homeScreen() {
    const gate = st.capability && !st.capability.clock_in;
    const groups = openGroups();
    const mine = Object.values(st.shifts)
      .sort((a, b) => b.started_at.localeCompare(a.started_at))
      .slice(0, 30);
    const on = st.onTheClock || [];
    show(
      h("p", { class: "hello" }, t("hello", { name: me().name }), " · ", st.session.company_name),
      notice(st.lastError, "error"),
      notice(ui.message, "ok"),
      gate
        ? h("section", { class: "card gate", id: "gate" }, h("h2", {}, t("gate_title")), h("p", {}, t("gate_msg")))
        : h("button", { id: "btn-clock-in", class: "big primary", type: "button", onclick: startClockIn }, t("clock_in")),
      groups.length ? h("h2", {}, t("open_shifts")) : null,
      groups.map((g) =>
        h(
          "section",
          { class: "card open" },
          h("div", {}, h("strong", {}, g[0].place)),
          h("div", { class: "muted" }, t("since", { time: hhmm(g[0].started_at, g[0].time_zone) })),
          h("div", {}, g.map((s) => s.worker_name).join(", ")),
          h("button", { class: "big danger clock-out", type: "button", "data-group": g[0].clock_in_id, onclick: () => startClockOut(g) }, t("clock_out"))
        )
      ),
      h("h2", {}, t("whos_on")),
      on.length ? h("ul", { class: "list", id: "on-the-clock" }, on.map((s) => h("li", {}, h("strong", {}, s.worker_name), ` · ${t("since", { time: hhmm(s.started_at, s.time_zone) })} · ${s.place}`))) : h("p", { class: "muted" }, t("nobody")),
      h("h2", {}, t("my_shifts")),
      mine.length ? h("ul", { class: "list", id: "my-shifts" }, mine.map(shiftRow)) : h("p", { class: "muted" }, t("no_shifts")),
      h("button", { type: "button", class: "link", onclick: () => { S.signOut(); go("signin"); } }, t("signout"))
    );
  }

  // -- clock in -------------------------------------------------------------------------------
  async function startClockIn() {
    ui.message = null;
    ui.pick = { q: "", project: null, sub: null, milestone: null };
    ui.crew = new Set([me().id]);
    ui.location = false;
    await S.loadPicker();
    go("pick");
  }

  function pickMilestone(m) {
    ui.pick.milestone = m;
    go(me().is_foreman ? "crew" : "confirm_in");
  }

  function milestoneButton(m, withPlace) {
    return h("button", { type: "button", class: "choice", "data-milestone": m.id, onclick: () => pickMilestone(m) }, m.recent ? "★ " : "", withPlace ? m.place : m.name);
  }

  function pickScreen() {
    const index = milestoneIndex();
    const all = Object.values(index);
    const q = ui.pick.q.trim().toLowerCase();
    const search = h("input", { id: "search", type: "search", placeholder: t("search"), value: ui.pick.q, "aria-label": t("search") });
    search.addEventListener("input", () => {
      ui.pick.q = search.value;
      const caret = search.selectionStart;
      render();
      const again = document.getElementById("search");
      again.focus();
      again.setSelectionRange(caret, caret);
    });
    let body;
    if (q) {
      body = all.filter((m) => m.place.toLowerCase().includes(q)).map((m) => milestoneButton(m, true));
    } else if (ui.pick.sub) {
      body = ui.pick.sub.milestones.map((m) => milestoneButton(index[m.id], false));
    } else if (ui.pick.project) {
      body = ui.pick.project.sub_jobs.map((s) => h("button", { type: "button", class: "choice", onclick: () => { ui.pick.sub = s; render(); } }, s.name));
    } else {
      const recent = all.filter((m) => m.recent);
      body = [
        recent.length ? h("h2", {}, t("recent")) : null,
        recent.map((m) => milestoneButton(m, true)),
        h("h2", {}, t("pick_job")),
        ((st.picker && st.picker.projects) || []).map((p) => h("button", { type: "button", class: "choice", "data-project": p.id, onclick: () => { ui.pick.project = p; render(); } }, p.recent ? "★ " : "", p.name)),
      ];
    }
    const back = () => {
      if (ui.pick.sub) ui.pick.sub = null;
      else if (ui.pick.project) ui.pick.project = null;
      else return go("home");
      render();
    };
    show(h("h1", {}, t("pick_job")), search, h("div", { class: "choices" }, body), h("button", { type: "button", class: "big", onclick: back }, t("back")));
  }

  function busyWorkers() {
    const busy = new Set();
    for (const w of (st.picker && st.picker.workers) || []) if (w.on_clock) busy.add(w.id);
    for (const s of st.onTheClock || []) busy.add(s.worker_id);
    for (const s of Object.values(st.shifts)) if (!s.ended_at && s.sync !== "failed") busy.add(s.worker_id);
    return busy;
  }

  function crewScreen() {
    const busy = busyWorkers();
    const rows = ((st.picker && st.picker.workers) || []).map((w) => {
      const box = h("input", { type: "checkbox", id: `w-${w.id}`, checked: ui.crew.has(w.id) && !busy.has(w.id), disabled: busy.has(w.id) });
      box.addEventListener("change", () => (box.checked ? ui.crew.add(w.id) : ui.crew.delete(w.id)));
      return h("label", { class: "check big-check", for: `w-${w.id}` }, box, h("span", {}, w.name, w.id === me().id ? ` (${t("you")})` : ""), busy.has(w.id) ? h("span", { class: "muted" }, ` · ${t("on_clock")}`) : null);
    });
    show(
      h("h1", {}, t("pick_crew")),
      h("p", { class: "muted" }, ui.pick.milestone.place),
      notice(ui.message, "error"),
      h("div", { class: "choices" }, rows),
      h("button", { type: "button", id: "btn-next", class: "big primary", onclick: () => {
        for (const id of busy) ui.crew.delete(id);
        if (!ui.crew.size) { ui.message = t("select_one"); return render(); }
        ui.message = null;
        go("confirm_in");
      } }, t("next")),
      h("button", { type: "button", class: "big", onclick: () => go("pick") }, t("back"))
    );
  }

  function where() {
    return new Promise((resolve) => {
      if (!ui.location || !navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: p.coords.accuracy }),
        () => resolve(null),
        { timeout: 5000, maximumAge: 60000 }
      );
    });
  }

  async function confirmClockIn() {
    const m = ui.pick.milestone;
    const names = Object.fromEntries(((st.picker && st.picker.workers) || []).map((w) => [w.id, w.name]));
    const members = [...ui.crew].map((id) => ({ worker_id: id, shift_id: S.uuid() }));
    const body = { id: S.uuid(), milestone_id: m.id, started_at: new Date().toISOString(), members };
    const location = await where();
    if (location) body.location = location;
    for (const member of members) {
      st.shifts[member.shift_id] = {
        shift_id: member.shift_id, clock_in_id: body.id, worker_id: member.worker_id, worker_name: names[member.worker_id] || me().name,
        clocked_in_by_id: me().id, place: m.place, milestone_id: m.id, project_id: m.project.id, started_at: body.started_at,
        ended_at: null, sync: "pending", allocations: [],
      };
    }
    S.enqueue("in", body, members.map((x) => x.shift_id));
    ui.message = navigator.onLine ? null : t("saved_offline");
    go("home");
    kick();
  }

  function confirmInScreen() {
    const names = Object.fromEntries(((st.picker && st.picker.workers) || []).map((w) => [w.id, w.name]));
    const box = h("input", { type: "checkbox", id: "share-location", checked: ui.location });
    box.addEventListener("change", () => (ui.location = box.checked));
    show(
      h("h1", {}, t("confirm_in")),
      h("section", { class: "card" }, h("div", { class: "muted" }, t("where")), h("strong", {}, ui.pick.milestone.place), h("div", { class: "muted" }, t("who")), h("strong", {}, [...ui.crew].map((id) => names[id] || me().name).join(", "))),
      h("label", { class: "check big-check", for: "share-location" }, box, t("share_location")),
      h("button", { type: "button", id: "btn-confirm", class: "big primary", onclick: confirmClockIn }, t("confirm")),
      h("button", { type: "button", class: "big", onclick: () => go(me().is_foreman ? "crew" : "pick") }, t("back"))
    );
  }

  // -- clock out ------------------------------------------------------------------------------
  function startClockOut(group) {
    ui.message = null;
    const first = group[0].milestone_id;
    ui.out = { group, mode: "hours", same: true, member: group[0].shift_id, injured: null, breakMinutes: 0, lines: {}, ended: new Date().toISOString() };
    ui.out.lines.all = [{ milestone_id: first, value: "" }];
    for (const s of group) ui.out.lines[s.shift_id] = [{ milestone_id: s.milestone_id || first, value: "" }];
    S.loadPicker().then(() => go("out"));
  }

  function totalFor(s) {
    return S.workedCentihours(s.started_at, ui.out.ended, ui.out.breakMinutes);
  }

  /* The problem with a split for shift `s`, or null when it adds up. Empty values = the whole time on one line. */
  function splitProblem(lines, s) {
    const total = totalFor(s);
    const filled = lines.filter((l) => String(l.value).trim() !== "");
    if (lines.length === 1 && !filled.length) return null;
    const values = lines.map((l) => S.parseFixed(l.value === "" ? "0" : l.value));
    if (values.some((v) => v === null)) return t("must_add_up", { value: ui.out.mode === "hours" ? `${S.formatHours(total)} h` : "100 %" });
    const sum = values.reduce((a, b) => a + b, 0);
    const want = ui.out.mode === "hours" ? total : 10000;
    if (sum === want) return null;
    const left = want - sum;
    return t("left", { value: ui.out.mode === "hours" ? `${S.formatHours(Math.abs(left))} h${left < 0 ? " (-)" : ""}` : `${(left / 100).toFixed(2)} %` });
  }

  function splitBody(lines) {
    if (lines.length === 1 && String(lines[0].value).trim() === "") {
      return { mode: "percent", lines: [{ milestone_id: lines[0].milestone_id, value: "100" }] };
    }
    return { mode: ui.out.mode, lines: lines.map((l) => ({ milestone_id: Number(l.milestone_id), value: String(l.value).trim() || "0" })) };
  }

  function lineEditor(key, projectId) {
    const index = milestoneIndex();
    const options = Object.values(index).filter((m) => !projectId || m.project.id === projectId);
    const lines = ui.out.lines[key];
    return h(
      "div",
      { class: "lines", "data-for": key },
      lines.map((line, n) => {
        const select = h("select", { "aria-label": `${t("split")} ${n + 1}`, class: "line-milestone" }, options.map((m) => h("option", { value: m.id, selected: Number(line.milestone_id) === m.id }, `${m.sub.name} / ${m.name}`)));
        select.addEventListener("change", () => { line.milestone_id = Number(select.value); });
        const input = h("input", { class: "line-value", inputmode: "decimal", value: line.value, placeholder: ui.out.mode === "hours" ? "h" : "%", "aria-label": ui.out.mode === "hours" ? t("by_hours") : t("by_percent") });
        input.addEventListener("change", () => { line.value = input.value; render(); });
        return h("div", { class: "line" }, select, input, lines.length > 1 ? h("button", { type: "button", class: "small", onclick: () => { lines.splice(n, 1); render(); } }, t("remove")) : null);
      }),
      h("button", { type: "button", class: "add-line", onclick: () => {
        const used = new Set(lines.map((l) => Number(l.milestone_id)));
        const next = options.find((m) => !used.has(m.id));
        if (next) lines.push({ milestone_id: next.id, value: "" });
        render();
      } }, t("add_milestone"))
    );
  }

  function outScreen() {
    const o = ui.out;
    const g = o.group;
    const projectId = g[0].project_id;
    const brk = h("input", { id: "break", type: "number", min: "0", max: "600", inputmode: "numeric", value: String(o.breakMinutes) });
    brk.addEventListener("change", () => { o.breakMinutes = Math.max(0, Number(brk.value) || 0); render(); });
    const same = h("input", { type: "checkbox", id: "same-split", checked: o.same });
    same.addEventListener("change", () => { o.same = same.checked; render(); });
    const mode = (m) => h("button", { type: "button", class: `seg ${o.mode === m ? "on" : ""}`, "aria-pressed": String(o.mode === m), id: `mode-${m}`, onclick: () => { o.mode = m; render(); } }, m === "hours" ? t("by_hours") : t("by_percent"));
    const editing = o.same ? g : g.filter((s) => s.shift_id === o.member);
    const key = o.same ? "all" : o.member;
    const problems = (o.same ? g.map((s) => splitProblem(o.lines.all, s)) : g.map((s) => splitProblem(o.lines[s.shift_id], s))).filter(Boolean);
    const injured = (value) => h("button", { type: "button", id: `injured-${value ? "yes" : "no"}`, class: `seg big ${o.injured === value ? "on" : ""}`, "aria-pressed": String(o.injured === value), onclick: () => { o.injured = value; render(); } }, value ? t("yes") : t("no"));
    show(
      h("h1", {}, t("clock_out")),
      h("p", { class: "muted" }, `${g[0].place} · ${g.map((s) => s.worker_name).join(", ")}`),
      notice(ui.message, "error"),
      h("label", { for: "break" }, t("break_minutes")),
      brk,
      h("p", { class: "worked" }, t("worked", { hours: S.formatHours(totalFor(editing[0])) })),
      h("h2", {}, t("split")),
      h("div", { class: "segs" }, mode("hours"), mode("percent")),
      g.length > 1 ? h("label", { class: "check big-check", for: "same-split" }, same, t("same_for_crew")) : null,
      !o.same ? h("div", { class: "segs members" }, g.map((s) => h("button", { type: "button", class: `seg ${o.member === s.shift_id ? "on" : ""}`, onclick: () => { o.member = s.shift_id; render(); } }, s.worker_name))) : null,
      !o.same ? h("p", { class: "muted" }, t("split_for", { name: editing[0].worker_name })) : null,
      lineEditor(key, projectId),
      problems.length ? h("p", { class: "msg warn", role: "status", id: "split-problem" }, problems[0]) : null,
      h("h2", {}, t("injured_q")),
      h("div", { class: "segs" }, injured(false), injured(true)),
      h("button", { type: "button", id: "btn-confirm-out", class: "big primary", disabled: problems.length > 0, onclick: confirmClockOut }, t("confirm_out")),
      h("button", { type: "button", class: "big", onclick: () => go("home") }, t("cancel"))
    );
  }

  function confirmClockOut() {
    const o = ui.out;
    if (o.injured === null) { ui.message = t("answer_injured"); return render(); }
    const ids = o.group.map((s) => s.shift_id);
    const body = { id: S.uuid(), shift_ids: ids, ended_at: o.ended, break_minutes: o.breakMinutes, injured: o.injured };
    if (o.same) body.split = splitBody(o.lines.all);
    else body.per_shift = Object.fromEntries(ids.map((id) => [id, splitBody(o.lines[id])]));
    for (const s of o.group) {
      s.ended_at = o.ended;
      s.sync = "pending";
      s.hours = S.formatHours(totalFor(s));
    }
    S.enqueue("out", body, ids);
    ui.message = navigator.onLine ? null : t("saved_offline");
    go("home");
    kick();
  }

  // -- loop -----------------------------------------------------------------------------------
  const SCREENS = { signin: signInScreen, home: homeScreen, pick: pickScreen, crew: crewScreen, confirm_in: confirmInScreen, out: outScreen };

  function render() {
    paintNet();
    if (!st.session) ui.screen = "signin";
    (SCREENS[ui.screen] || homeScreen)();
  }

  let kicking = false;
  async function kick() {
    if (kicking || !st.session || !navigator.onLine) return;
    kicking = true;
    try {
      await S.sync();
      await S.refresh();
      if (!st.queue.length && ui.message === t("saved_offline")) ui.message = null;
    } finally {
      kicking = false;
    }
    if (ui.screen === "home") render();
  }

  document.getElementById("lang").addEventListener("click", () => {
    setLanguage(ui.lang === "en" ? "es" : "en");
    render();
  });
  window.addEventListener("online", () => { paintNet(); kick(); });
  window.addEventListener("offline", paintNet);
  setInterval(kick, 2000);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
  }

  loadLanguages().then(() => {
    ui.screen = st.session ? "home" : "signin";
    render();
    if (st.session) S.loadPicker().then(kick);
  });
})();
