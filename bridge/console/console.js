// AMF-OS web console. It speaks only the public HTTP API, so anything it
// shows a script can get the same way. Every piece of server data reaches
// the page through textContent or attribute properties, never as markup.
"use strict";

(() => {
  const EVENT_TYPES = [
    "accepted", "assigned", "memory_hit", "token", "command", "rejected",
    "exec_start", "stdout", "stderr", "exec_end", "retry", "answer",
    "learned", "done", "failed", "cancelled", "cancel_requested",
  ];
  const FINAL = new Set(["done", "failed", "cancelled"]);
  const REFRESH_MS = 4000;
  const RECENT_MAX = 40;
  // A stream that the server refused (404, 503) is not retried by
  // EventSource itself; the console tries again while the task may still
  // be running.
  const STREAM_RETRY_MS = 3000;

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function store(key, value) {
    try {
      if (value === undefined) return JSON.parse(localStorage.getItem(key));
      localStorage.setItem(key, JSON.stringify(value));
    } catch (_) {
      // Private windows and disabled storage: the console still works,
      // it only forgets between page loads.
    }
    return null;
  }

  // The identity the console shows and acts as (GET /v1/session).
  let me = null;
  // The token of a login link waiting for the user's word; never stored.
  let offered = "";

  async function api(method, path, body) {
    // The custom header is the console's CSRF proof: a page of another
    // origin cannot send it with the session cookie.
    const init = { method, headers: { Accept: "application/json", "X-Amf-Csrf": "1" } };
    // Another tab may log this browser in as another token; naming the
    // token this page shows makes the bridge refuse what this page sends
    // once the cookie is someone else's, rather than run it as them.
    if (me && me.id) init.headers["X-Amf-Token-Id"] = me.id;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    let data = null;
    try { data = await resp.json(); } catch (_) { /* empty or not JSON */ }
    if (resp.status === 401 && path !== "/v1/session") {
      showLogin("The bridge did not accept this session (expired or revoked); log in again.");
    }
    const r = { ok: resp.ok, status: resp.status, data };
    if (errorCode(r) === "session_changed") refreshIdentity();
    return r;
  }

  function apiError(r) {
    if (r.data && r.data.error) return r.data.error.message || r.data.error.code;
    return "HTTP " + r.status;
  }

  function errorCode(r) {
    return (r && r.data && r.data.error && r.data.error.code) || "";
  }

  function taskPath(id) { return "/v1/tasks/" + encodeURIComponent(id); }

  function fmtMS(ms) {
    if (ms === undefined || ms === null) return "";
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  }

  function fmtTime(ts) {
    const d = new Date(ts);
    return isNaN(d) ? "" : d.toLocaleTimeString();
  }

  // ---- recent tasks -----------------------------------------------------

  const recent = new Map();
  for (const t of store("amf.recent") || []) {
    if (t && typeof t.id === "string") recent.set(t.id, t);
  }
  let serverListing = true;

  function remember(id, fields) {
    const t = recent.get(id) || { id, at: Date.now() };
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined && v !== null && v !== "") t[k] = v;
    }
    recent.set(id, t);
    saveRecent();
    renderRecent();
  }

  function saveRecent() {
    const list = [...recent.values()].sort((a, b) => b.at - a.at).slice(0, RECENT_MAX);
    recent.clear();
    for (const t of list) recent.set(t.id, t);
    store("amf.recent", list);
  }

  function renderRecent() {
    const ul = $("recent");
    const items = [...recent.values()].sort((a, b) => b.at - a.at);
    const nodes = items.map((t) => {
      const li = el("li");
      const b = el("button");
      b.type = "button";
      b.dataset.id = t.id;
      b.title = t.id + (t.at ? " · " + new Date(t.at).toLocaleString() : "");
      if (view && view.id === t.id) b.setAttribute("aria-current", "true");
      const dot = el("span", "dot");
      dot.dataset.state = t.state || "";
      dot.setAttribute("aria-hidden", "true");
      const label = el("span", "label" + (t.command ? " command" : ""), t.label || t.id);
      const state = el("span", "state", t.state || "");
      b.append(dot, label, state);
      b.addEventListener("click", () => openTask(t.id));
      li.append(b);
      return li;
    });
    ul.replaceChildren(...nodes);
    if (!items.length && !$("recent-note").textContent) {
      $("recent-note").textContent = "No tasks yet.";
      $("recent-note").hidden = false;
    } else if (items.length && $("recent-note").textContent === "No tasks yet.") {
      $("recent-note").hidden = true;
      $("recent-note").textContent = "";
    }
  }

  async function refreshServerTasks() {
    if (!serverListing) return;
    const asked = ownerOf(me);
    let r;
    try { r = await api("GET", "/v1/tasks?limit=20"); } catch (_) { return; }
    // A list asked for as the identity the console has since left is
    // that identity's, not the one now shown.
    if (ownerOf(me) !== asked) return;
    if (r.status === 501) {
      // Listing needs the hot cache; until it is configured this page's
      // own history is all there is, and asking again would only repeat
      // the same answer.
      serverListing = false;
      const note = $("recent-note");
      note.textContent = "Tasks submitted from this browser. The server lists every task once its hot cache is configured.";
      note.hidden = false;
      return;
    }
    if (!r.ok || !r.data || !Array.isArray(r.data.tasks)) return;
    for (const s of r.data.tasks) {
      if (!s || typeof s.id !== "string") continue;
      const known = recent.get(s.id);
      const at = Date.parse(s.submitted || s.updated) || (known && known.at) || Date.now();
      remember(s.id, {
        label: s.instruction || s.command,
        command: !s.instruction && !!s.command,
        state: s.state,
        at: known ? known.at : at,
      });
    }
  }

  // Tasks of this page that are not on screen still change state; their
  // status keeps the list truthful without holding a stream open for each.
  async function refreshLocalStates() {
    const pending = [...recent.values()].filter((t) => !FINAL.has(t.state) && !(view && view.id === t.id)).slice(0, 10);
    await Promise.all(pending.map(async (t) => {
      const asked = ownerOf(me);
      let r;
      try { r = await api("GET", taskPath(t.id)); } catch (_) { return; }
      if (ownerOf(me) !== asked || !recent.has(t.id)) return;
      if (r.ok && r.data && r.data.state) remember(t.id, { state: r.data.state });
      else if (r.status === 404) remember(t.id, { state: "unknown" });
    }));
  }

  // ---- workers and health -----------------------------------------------

  async function refreshWorkers() {
    const box = $("workers");
    let r;
    try { r = await api("GET", "/v1/workers"); } catch (err) {
      box.replaceChildren(el("p", "note", "Could not reach the bridge."));
      $("workers-count").textContent = "";
      return;
    }
    if (!r.ok || !r.data) {
      box.replaceChildren(el("p", "note", "Could not list workers: " + apiError(r)));
      $("workers-count").textContent = "";
      return;
    }
    const ws = Array.isArray(r.data.workers) ? r.data.workers : [];
    $("workers-count").textContent = "(" + ws.length + ")";
    if (!ws.length) {
      box.replaceChildren(el("p", "note", "No worker heard from. Start one with “amf worker” or “amf up”."));
      return;
    }
    const table = el("table");
    const head = el("tr");
    for (const h of ["Worker", "Pool", "Tasks", "Sandbox"]) {
      const th = el("th", "", h);
      th.scope = "col";
      head.append(th);
    }
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const w of ws) {
      const tr = el("tr");
      tr.dataset.worker = w.id;
      const id = el("td", "id", w.id);
      const seen = w.last_seen ? Math.max(0, Math.round((Date.now() - Date.parse(w.last_seen)) / 1000)) : null;
      id.title = "host " + (w.host || "?") + (seen !== null ? " · seen " + seen + " s ago" : "") + (w.version ? " · " + w.version : "");
      const tasks = el("td", "", (w.in_flight || 0) + " / " + (w.capacity || 0));
      const bar = el("span", "load");
      const fill = el("span");
      fill.style.width = Math.min(100, Math.max(0, (w.load || 0) * 100)).toFixed(0) + "%";
      bar.append(fill);
      bar.title = "load " + Math.round((w.load || 0) * 100) + "%";
      tasks.append(bar);
      tr.append(id, el("td", "", w.pool || ""), tasks, el("td", "", w.sandbox || ""));
      table.tBodies[0].append(tr);
    }
    box.replaceChildren(table);
  }

  async function refreshHealth() {
    const box = $("health");
    let r;
    try { r = await api("GET", "/healthz"); } catch (_) {
      box.dataset.status = "unreachable";
      $("health-text").textContent = "bridge unreachable";
      box.title = "The bridge did not answer /healthz.";
      return;
    }
    const h = r.data || {};
    const status = h.status || (r.ok ? "ok" : "down");
    box.dataset.status = status;
    $("health-text").textContent = status === "ok" ? "healthy" : status;
    const lines = ["kernel: " + (h.kernel || "?")];
    for (const [name, s] of Object.entries(h.streams || {})) lines.push(name + ": " + s);
    if (h.cache) lines.push("cache " + h.cache);
    box.title = lines.join("\n");
  }

  let refreshTimer = 0;
  async function refreshAll() {
    clearTimeout(refreshTimer);
    await Promise.all([refreshIdentity(), refreshHealth(), refreshWorkers(), refreshServerTasks(), refreshLocalStates()]);
    refreshTimer = setTimeout(refreshAll, REFRESH_MS);
  }

  // ---- one task's live view ---------------------------------------------

  let view = null;

  function openTask(id) {
    if (view) view.close();
    view = new TaskView(id);
    // The address names the task on screen, so a link or a reload shows
    // the same task again.
    history.replaceState(null, "", "#task=" + encodeURIComponent(id));
    renderRecent();
  }

  function taskFromHash() {
    const m = /^#task=(.+)$/.exec(location.hash);
    if (!m) return "";
    try { return decodeURIComponent(m[1]); } catch (_) { return ""; }
  }

  window.addEventListener("hashchange", () => {
    const token = tokenFromHash();
    if (token) {
      history.replaceState(null, "", location.pathname + location.search);
      linkLogin(token);
      return;
    }
    const id = taskFromHash();
    if (id && !(view && view.id === id)) openTask(id);
  });

  class TaskView {
    constructor(id) {
      this.id = id;
      this.lastSeq = 0;
      this.attempt = 0;
      this.state = "";
      this.closed = false;
      this.finished = false;
      this.es = null;
      this.retryTimer = 0;
      this.tokens = null;
      this.thoughts = null;
      this.output = null;
      this.answer = null;
      this.log = $("log");

      const t = recent.get(id) || {};
      $("task").hidden = false;
      $("empty").hidden = true;
      this.log.replaceChildren();
      this.setTitle(t.label || id, !!t.command);
      $("task-id").textContent = id;
      $("task-meta").textContent = "";
      $("task-reason").hidden = true;
      this.setState("", "");
      this.note("connecting…");
      this.connect();
    }

    connect() {
      // The first connection replays from the start (or from where a
      // refused stream left off); EventSource sends Last-Event-ID itself
      // on every automatic reconnect.
      const url = taskPath(this.id) + "/events" + (this.lastSeq ? "?after=" + this.lastSeq : "");
      const es = new EventSource(url);
      this.es = es;
      $("task").dataset.stream = "connecting";
      for (const type of EVENT_TYPES) {
        es.addEventListener(type, (m) => this.onMessage(type, m));
      }
      es.onopen = () => {
        if (this.closed || this.finished) return;
        $("task").dataset.stream = "open";
        this.note("");
      };
      es.onerror = () => {
        if (this.closed || this.finished) return;
        if (es.readyState === EventSource.CLOSED) {
          this.streamRefused();
        } else {
          $("task").dataset.stream = "reconnecting";
          this.note("connection lost, reconnecting…");
        }
      };
    }

    async streamRefused() {
      $("task").dataset.stream = "closed";
      let r;
      try { r = await api("GET", taskPath(this.id)); } catch (_) { r = { ok: false, status: 0 }; }
      if (this.closed) return;
      if (r.status === 404 || r.status === 400) {
        this.note("");
        this.setState("unknown", r.status === 404
          ? "No such task: it was never submitted here, or its events have expired."
          : apiError(r));
        return;
      }
      if (r.ok && r.data && FINAL.has(r.data.state)) {
        this.setState(r.data.state, r.data.error || "");
        this.note("live stream unavailable; showing the stored status");
        return;
      }
      this.note("stream unavailable, retrying…");
      this.retryTimer = setTimeout(() => { if (!this.closed) this.connect(); }, STREAM_RETRY_MS);
    }

    onMessage(type, m) {
      if (this.closed || this.finished) return;
      // The server resumes after Last-Event-ID, so a repeat should not
      // happen; the sequence check keeps the page right even if a proxy
      // or a replay sends an event twice.
      const seq = Number(m.lastEventId) || 0;
      if (seq && seq <= this.lastSeq) return;
      if (seq) this.lastSeq = seq;
      let e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      if (!e || typeof e !== "object") return;
      if ($("task").dataset.stream !== "open") {
        $("task").dataset.stream = "open";
        this.note("");
      }
      const log = this.log;
      const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
      this.render(type, e);
      if (stick) log.scrollTop = log.scrollHeight;
      if (FINAL.has(type)) this.finish();
    }

    finish() {
      // The server ends the response after the terminal event; left open,
      // EventSource would reconnect for ever.
      this.finished = true;
      if (this.es) this.es.close();
      $("task").dataset.stream = "closed";
    }

    close() {
      this.closed = true;
      clearTimeout(this.retryTimer);
      if (this.es) this.es.close();
    }

    note(text) { $("stream-note").textContent = text; }

    setTitle(text, isCommand) {
      const h = $("task-title");
      h.textContent = text;
      h.classList.toggle("command", isCommand);
    }

    setState(state, reason) {
      this.state = state;
      const badge = $("task-state");
      badge.dataset.state = state;
      badge.textContent = state || "…";
      badge.setAttribute("aria-label", "Task state: " + (state || "connecting"));
      const live = !FINAL.has(state) && state !== "unknown";
      const cancel = $("cancel");
      cancel.hidden = !live;
      if (live && cancel.dataset.pending !== this.id) {
        cancel.disabled = false;
        cancel.textContent = "Cancel";
      }
      const r = $("task-reason");
      r.dataset.state = state;
      r.textContent = reason || "";
      r.hidden = !reason;
      if (state && state !== "unknown") remember(this.id, { state });
    }

    row(tag, kind, ts) {
      const div = el("div", "ev " + kind);
      div.append(el("span", "tag", tag));
      const body = el("span", "body");
      div.append(body);
      if (ts) div.title = fmtTime(ts);
      this.log.append(div);
      return body;
    }

    enterAttempt(n) {
      if (!n || n === this.attempt) return;
      this.attempt = n;
      this.tokens = null;
      this.thoughts = null;
      this.output = null;
      this.answer = null;
      if (n > 1) {
        const d = el("div", "attempt", "Attempt " + n);
        this.log.append(d);
      }
    }

    ensureOutput() {
      if (!this.output) {
        this.output = el("div", "output");
        this.output.setAttribute("role", "group");
        this.output.setAttribute("aria-label", "Command output");
        this.log.append(this.output);
      }
      return this.output;
    }

    render(type, e) {
      if (!FINAL.has(type) && type !== "accepted" && type !== "assigned" && type !== "cancel_requested") {
        this.enterAttempt(e.attempt);
      }
      switch (type) {
        case "accepted": {
          const t = e.task || {};
          const label = t.instruction || t.command;
          if (label) this.setTitle(label, !t.instruction);
          const meta = [];
          if (t.pool) meta.push("pool " + t.pool);
          if (t.session) meta.push("session " + t.session);
          if (t.max_attempts) meta.push("max " + t.max_attempts + " attempts");
          if (t.timeout) meta.push("timeout " + t.timeout);
          $("task-meta").textContent = meta.join(" · ");
          remember(this.id, { label, command: !t.instruction && !!t.command });
          this.row("accepted", "note", e.ts).textContent = e.text || ("queued" + (t.pool ? " in pool " + t.pool : ""));
          this.setState("queued", "");
          break;
        }
        case "assigned": {
          let s = "worker " + (e.worker || "?");
          if (e.host) s += " on " + e.host;
          if (e.delivery > 1) s += " · delivery " + e.delivery + " (the previous worker stopped)";
          this.row("assigned", "note", e.ts).textContent = s;
          this.setState("running", "");
          break;
        }
        case "memory_hit": {
          const b = this.row("memory", "memory", e.ts);
          b.append(el("span", "", "reusing a command that worked before" + (e.score ? " (similarity " + e.score.toFixed(2) + ")" : "") + " "));
          if (e.command) b.append(el("code", "cmd", e.command));
          this.setState("running", "");
          break;
        }
        case "token": {
          if (!this.tokens) {
            const b = this.row("model", "model", e.ts);
            const span = el("span", "tokens");
            this.tokens = document.createTextNode("");
            span.append(this.tokens);
            b.append(span);
          }
          this.tokens.appendData(e.text || "");
          this.setStateIfIdle();
          break;
        }
        case "thinking": {
          // A thinking model's reasoning, shown apart from its reply.
          if (!this.thoughts) {
            const b = this.row("thinking", "thinking", e.ts);
            const span = el("span", "thoughts");
            this.thoughts = document.createTextNode("");
            span.append(this.thoughts);
            b.append(span);
          }
          this.thoughts.appendData(e.text || "");
          this.setStateIfIdle();
          break;
        }
        case "command": {
          this.tokens = null;
          this.thoughts = null;
          this.row("command", "command", e.ts).append(el("code", "cmd", e.command || ""));
          this.setStateIfIdle();
          break;
        }
        case "rejected": {
          this.tokens = null;
          const b = this.row("rejected", "rejected", e.ts);
          if (e.rule) b.append(el("span", "rule", e.rule));
          b.append(el("span", "", e.reason || e.text || "rejected by the sandbox policy"));
          if (e.command) {
            b.append(document.createElement("br"));
            b.append(el("code", "cmd", e.command));
          }
          break;
        }
        case "exec_start": {
          this.output = null;
          this.row("exec", "note", e.ts).textContent = "started";
          this.setStateIfIdle();
          break;
        }
        case "stdout":
        case "stderr": {
          const line = el("span", "line " + type, e.text || "");
          this.ensureOutput().append(line);
          break;
        }
        case "exec_end": {
          const x = e.exec || {};
          const b = this.row("exit", "exec-end", e.ts);
          b.parentNode.dataset.exitCode = String(x.exit_code);
          b.append(el("span", x.exit_code === 0 ? "exit-ok" : "exit-bad", "exit " + x.exit_code));
          const parts = [];
          if (x.duration_ms !== undefined) parts.push(fmtMS(x.duration_ms));
          if (x.signal) parts.push("signal " + x.signal);
          if (x.timed_out) parts.push("timed out");
          if (x.limit_hit) parts.push("limit hit: " + x.limit_hit);
          if (x.truncated) parts.push("output truncated");
          if (x.peak_mem_kb) parts.push("peak memory " + Math.round(x.peak_mem_kb / 1024) + " MiB");
          if (parts.length) b.append(el("span", "", " · " + parts.join(" · ")));
          this.output = null;
          break;
        }
        case "retry": {
          this.row("retry", "retry", e.ts).textContent = e.text || e.reason || "trying again";
          break;
        }
        case "answer": {
          if (!this.answer) {
            this.answer = el("div", "answer");
            this.answer.setAttribute("aria-label", "Answer");
            this.log.append(this.answer);
          }
          this.answer.append(document.createTextNode(e.text || ""));
          break;
        }
        case "learned": {
          this.row("learned", "note", e.ts).textContent = "remembered for next time" + (e.command ? ": " + e.command : "");
          break;
        }
        case "cancel_requested": {
          this.row("cancel", "note", e.ts).textContent = "cancel requested" + (e.reason ? ": " + e.reason : "");
          break;
        }
        case "done": {
          if (e.answer && !this.answer) {
            this.answer = el("div", "answer", e.answer);
            this.log.append(this.answer);
          }
          this.row("done", "note", e.ts).textContent = this.summary(e);
          this.setState("done", "");
          break;
        }
        case "failed": {
          const b = this.row("failed", "failed-ev", e.ts);
          if (e.rule) b.append(el("span", "rule", e.rule));
          b.append(el("span", "", e.reason || "failed"));
          this.attemptList(e.attempts);
          const s = this.summary(e);
          if (s) this.row("", "note", e.ts).textContent = s;
          this.setState("failed", (e.rule ? "[" + e.rule + "] " : "") + (e.reason || "failed"));
          break;
        }
        case "cancelled": {
          this.row("cancelled", "note", e.ts).textContent = this.summary(e) || "stopped";
          this.setState("cancelled", e.reason || "cancelled");
          break;
        }
      }
    }

    // The first sign of work moves a queued task to running even when
    // the assigned event was not seen (a stream resumed part way).
    setStateIfIdle() {
      if (this.state === "" || this.state === "queued") this.setState("running", "");
    }

    summary(e) {
      const parts = [];
      if (e.attempts && e.attempts.length) parts.push(e.attempts.length + (e.attempts.length === 1 ? " attempt" : " attempts"));
      const ph = e.phases_ms || {};
      const names = Object.keys(ph);
      if (names.length) parts.push(names.map((k) => k + " " + fmtMS(ph[k])).join(", "));
      return parts.join(" · ");
    }

    attemptList(attempts) {
      if (!attempts || attempts.length < 2) return;
      const ol = el("ol", "attempts");
      for (const a of attempts) {
        const li = el("li");
        if (a.command) li.append(el("code", "cmd", a.command), document.createTextNode(" "));
        li.append(el("span", "", (a.exit_code !== undefined && a.exit_code !== null ? "exit " + a.exit_code + ": " : "") + (a.reason || "")));
        ol.append(li);
      }
      this.row("attempts", "note").append(ol);
    }
  }

  // ---- cancel -------------------------------------------------------------

  $("cancel").addEventListener("click", async () => {
    if (!view) return;
    const v = view;
    const b = $("cancel");
    b.disabled = true;
    b.dataset.pending = v.id;
    b.textContent = "Cancelling…";
    let r;
    try { r = await api("DELETE", taskPath(v.id)); } catch (_) { r = { ok: false, status: 0, data: null }; }
    delete b.dataset.pending;
    if (view !== v) return;
    if (r.ok || r.status === 409) return; // the stream tells how it ended
    b.disabled = false;
    b.textContent = "Cancel";
    v.note("cancel failed: " + (r.status ? apiError(r) : "bridge unreachable"));
  });

  // ---- the prompt ---------------------------------------------------------

  const input = $("input");
  const asCommand = $("as-command");
  const session = $("session");

  function syncMode() {
    const cmd = asCommand.checked;
    input.classList.toggle("command", cmd);
    $("input-label").textContent = cmd ? "Shell command to run" : "What should the fleet do?";
    input.placeholder = cmd ? "du -sh /var/log/* | sort -h | tail -5" : "find the five largest files under /var/log";
    input.spellcheck = !cmd;
  }

  asCommand.checked = store("amf.asCommand") === true;
  session.value = store("amf.session") || "";
  syncMode();
  asCommand.addEventListener("change", () => { store("amf.asCommand", asCommand.checked); syncMode(); });
  session.addEventListener("change", () => store("amf.session", session.value.trim()));

  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("prompt").requestSubmit();
    }
  });

  function formError(text) {
    const p = $("form-error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  $("prompt").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) {
      formError(asCommand.checked ? "Type a command to run." : "Say what you want done.");
      input.focus();
      return;
    }
    const body = asCommand.checked ? { command: text } : { instruction: text };
    const opt = (id) => $(id).value.trim();
    if (session.value.trim()) body.session = session.value.trim();
    if (opt("pool")) body.pool = opt("pool");
    if (opt("max-attempts")) body.max_attempts = Number(opt("max-attempts"));
    if (opt("timeout")) body.timeout = opt("timeout");
    if (opt("policy")) body.policy = opt("policy");
    if (opt("workspace")) body.workspace = opt("workspace");
    if ($("no-answer").checked) body.no_answer = true;
    store("amf.session", session.value.trim());

    const submit = $("submit");
    submit.disabled = true;
    formError("");
    let r;
    try { r = await api("POST", "/v1/tasks", body); } catch (_) { r = { ok: false, status: 0, data: null }; }
    submit.disabled = false;
    if (!r.ok || !r.data || !r.data.id) {
      formError(r.status ? "Not submitted: " + apiError(r) : "Not submitted: the bridge did not answer.");
      return;
    }
    input.value = "";
    remember(r.data.id, { label: text, command: asCommand.checked, state: "queued", at: Date.now() });
    openTask(r.data.id);
    input.focus();
  });

  // ---- who the console is ----------------------------------------------
  // The header always names the identity the console acts as, and work
  // remembered in this browser is kept per identity, so a session that
  // became another token's never looks like the one before.

  function ownerOf(info) {
    if (!info) return "";
    if (info.open) return "open";
    return info.owner || (info.id ? "token:" + info.id : "");
  }

  function who(info) {
    if (info.open) return "the open bridge";
    return (info.name ? "“" + info.name + "” " : "") + "(" + ownerOf(info) + ")";
  }

  function fillWho(box, info) {
    box.querySelector(".name").textContent = info.open ? "open bridge, no login" : (info.name || "unnamed token");
    box.querySelector(".owner").textContent = info.open ? "" : ownerOf(info);
    const scopes = box.querySelector(".scopes");
    if (scopes) scopes.textContent = Array.isArray(info.scopes) && info.scopes.length ? "scopes " + info.scopes.join(", ") : "";
  }

  function notice(text) {
    const p = $("identity-note");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function adopt(info) {
    const owner = ownerOf(info);
    const before = me ? ownerOf(me) : store("amf.recent.owner");
    if (before && owner && before !== owner) forgetWork();
    me = info;
    if (owner) store("amf.recent.owner", owner);
    fillWho($("identity"), info);
    $("identity").title = "Every task submitted here is " + who(info) + "’s" + (Array.isArray(info.scopes) ? " · scopes " + info.scopes.join(", ") : "");
    $("identity").hidden = !owner;
  }

  // forgetWork drops what this browser remembers of the previous
  // identity's work: its task list, the task on screen, its session name.
  function forgetWork() {
    recent.clear();
    store("amf.recent", []);
    session.value = "";
    store("amf.session", "");
    if (view) { view.close(); view = null; }
    $("task").hidden = true;
    $("empty").hidden = false;
    if (taskFromHash()) history.replaceState(null, "", location.pathname + location.search);
    renderRecent();
  }

  // refreshIdentity follows a session changed from another tab, and
  // says so.
  async function refreshIdentity() {
    const was = me;
    if (!was || document.body.dataset.auth !== "ok") return;
    const r = await whoami("");
    // A login of this page answered meanwhile says who it is itself.
    if (!r.ok || !r.data || me !== was || document.body.dataset.auth !== "ok") return;
    if (ownerOf(r.data) === ownerOf(was)) return;
    adopt(r.data);
    // A page that never learnt who it was (the bridge did not answer at
    // start) only learns it now: nothing changed.
    if (!ownerOf(was)) return;
    notice("This browser’s console session changed from " + who(was) + " to " + who(r.data) + " (logged in from another tab or window); the tasks remembered for the previous one were cleared here.");
  }

  // ---- login ------------------------------------------------------------
  // A token reaches the page only to be exchanged for the session cookie,
  // which is HttpOnly: no script, this one included, can read it later. A
  // #token= link is dropped from the address and the history first.

  function tokenFromHash() {
    const m = /^#token=([^&]+)/.exec(location.hash);
    if (!m) return "";
    try { return decodeURIComponent(m[1]); } catch (_) { return ""; }
  }

  function showLogin(msg) {
    document.body.dataset.auth = "needed";
    refreshHealth();
    $("login").hidden = false;
    $("logout").hidden = true;
    $("identity").hidden = true;
    $("switch").hidden = true;
    offered = "";
    $("login-error").textContent = msg || "";
    $("login-error").hidden = !msg;
    $("login-token").focus();
  }

  let started = false;
  function signedIn(info) {
    adopt(info || {});
    document.body.dataset.auth = "ok";
    $("login").hidden = true;
    $("logout").hidden = !!(info && info.open);
    $("login-token").value = "";
    if (started) { refreshAll(); return; }
    started = true;
    renderRecent();
    const linked = taskFromHash();
    if (linked) openTask(linked);
    refreshAll();
  }

  function loginError(r) {
    return r.status ? "Not logged in: " + apiError(r) : "Not logged in: the bridge did not answer.";
  }

  async function postLogin(token, replace) {
    const body = { token };
    if (replace) body.replace = true;
    try { return await api("POST", "/v1/session", body); } catch (_) { return { ok: false, status: 0, data: null }; }
  }

  // A token typed into the form is the user's own choice: it replaces
  // whatever session the browser holds.
  async function login(token) {
    const r = await postLogin(token, true);
    if (!r.ok) {
      showLogin(loginError(r));
      return;
    }
    signedIn(r.data);
  }

  // whoami asks the bridge who the session cookie is, or with a token,
  // who that token is, without logging in as it.
  async function whoami(token) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    try {
      const resp = await fetch("/v1/session", { headers });
      let data = null;
      try { data = await resp.json(); } catch (_) { /* empty or not JSON */ }
      return { ok: resp.ok, status: resp.status, data };
    } catch (_) {
      return { ok: false, status: 0, data: null };
    }
  }

  // A #token= link is only a URL, and anyone can send one, their own
  // token in it. Without a session it logs in, as `amf up`'s link must;
  // over a live session of another token it only offers the switch,
  // showing both, and the bridge itself refuses the switch unless asked
  // for it explicitly.
  async function linkLogin(token) {
    let cur = await whoami("");
    if (!cur.ok || !cur.data || cur.data.open) {
      const r = await postLogin(token, false);
      if (r.ok) {
        signedIn(r.data);
        return;
      }
      if (errorCode(r) !== "session_exists") {
        showLogin(loginError(r));
        return;
      }
      // Logged in since, in another tab.
      cur = await whoami("");
      if (!cur.ok || !cur.data) {
        showLogin(loginError(r));
        return;
      }
    }
    signedIn(cur.data);
    const next = await whoami(token);
    if (!next.ok || !next.data) {
      notice("The login link's token was not accepted (" + (next.status ? apiError(next) : "the bridge did not answer") + "); the console stays logged in as " + who(cur.data) + ".");
      return;
    }
    if (next.data.id === cur.data.id) return;
    offered = token;
    fillWho($("switch-current"), cur.data);
    fillWho($("switch-next"), next.data);
    $("switch").hidden = false;
    $("switch-keep").focus();
  }

  $("switch-keep").addEventListener("click", () => {
    offered = "";
    $("switch").hidden = true;
  });

  $("switch-confirm").addEventListener("click", async () => {
    const token = offered;
    offered = "";
    $("switch").hidden = true;
    if (!token) return;
    const r = await postLogin(token, true);
    if (!r.ok) {
      notice("Not switched: " + (r.status ? apiError(r) : "the bridge did not answer") + ".");
      return;
    }
    notice("");
    signedIn(r.data);
  });

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = $("login-token").value.trim();
    if (token) login(token);
  });

  $("logout").addEventListener("click", async () => {
    await api("DELETE", "/v1/session");
    if (view) { view.close(); view = null; }
    showLogin("");
  });

  (async () => {
    const linkToken = tokenFromHash();
    if (linkToken) {
      history.replaceState(null, "", location.pathname + location.search);
      await linkLogin(linkToken);
      return;
    }
    let r;
    try { r = await api("GET", "/v1/session"); } catch (_) { r = { ok: false, status: 0 }; }
    if (r.status === 401) showLogin("");
    else signedIn(r.data);
  })();
})();
