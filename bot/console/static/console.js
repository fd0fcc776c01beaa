// The agent console's page: sign-in, the live queue, a conversation (transcript, summary, claim,
// reply, typing, invoices, hand back, close). Every sentence comes from GET /api/strings (the
// catalogue's `console` section); the live channel is GET /api/events read with fetch(), because
// EventSource cannot send the Authorization header.
"use strict";
(() => {
  const TYPING_EVERY_MS = 3000;   // at most one typing signal per 3 s while the agent types
  const TYPING_SHOWN_MS = 6000;   // "is typing" disappears after this without news
  const RECONNECT_MS = 2000;
  const state = {
    lang: localStorage.getItem("console.lang") === "zh" ? "zh" : "en",
    strings: {}, token: sessionStorage.getItem("console.token"),
    agent: JSON.parse(sessionStorage.getItem("console.agent") || "null"),
    queue: [], fetchedAt: 0, open: null, detail: null, stream: null, typingSentAt: 0, typingTimer: null,
    invoicesShown: false, asked: { strings: 0, queue: 0, conversation: 0, invoices: 0 },
  };
  const $ = (id) => document.getElementById(id);

  function say(key, values = {}, count) {
    let entry = state.strings[key];
    if (entry === undefined || entry === null) return key;
    if (typeof entry === "object") {
      if ("text" in entry) entry = entry.text;
      else entry = count === 1 && entry.one ? entry.one : entry.other;
      values = { ...values, count };
    }
    return String(entry).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  // ----- the API -------------------------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${path}${path.includes("?") ? "&" : "?"}lang=${state.lang}`,
        { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_offline) {
      throw { status: 0, error: "offline", message: say("error.offline") };
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && path !== "/api/sign-in") signOut(true);
    if (!response.ok) throw { status: response.status, error: data.error, message: data.message || say("error.internal") };
    return data;
  }

  // Only the newest answer of each kind is shown: a slower, older one (another language, another
  // conversation) must not overwrite it.
  async function newest(kind, method, path, body) {
    const asked = ++state.asked[kind];
    const data = await api(method, path, body);
    return asked === state.asked[kind] ? data : null;
  }

  function notice(problem) {
    const box = $("notice");
    box.textContent = problem ? problem.message || String(problem) : "";
    box.hidden = !problem;
  }

  // ----- language ------------------------------------------------------------------------------
  async function useLanguage(lang) {
    state.lang = lang;
    localStorage.setItem("console.lang", lang);
    const data = await newest("strings", "GET", "/api/strings");
    if (!data) return;
    state.strings = data.strings;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = say("title");
    for (const node of document.querySelectorAll("[data-s]")) node.textContent = say(node.dataset.s);
    $("reply-text").placeholder = say("reply_placeholder");
    for (const button of document.querySelectorAll(".languages button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    }
    showAgent();
    renderQueue();
    if (state.token && state.open) {
      await loadConversation();
      if (state.invoicesShown) await showInvoices();
    }
  }

  // ----- signing in and out --------------------------------------------------------------------
  function showAgent() {
    $("agent-name").textContent = state.agent ? say("signed_in_as", state.agent) : "";
  }

  async function signIn(event) {
    event.preventDefault();
    $("sign-in-error").hidden = true;
    try {
      const data = await api("POST", "/api/sign-in", { login: $("login").value, password: $("password").value });
      state.token = data.token;
      state.agent = data.agent;
      sessionStorage.setItem("console.token", data.token);
      sessionStorage.setItem("console.agent", JSON.stringify(data.agent));
      $("password").value = "";
      showDesk();
    } catch (problem) {
      $("sign-in-error").textContent = problem.message;
      $("sign-in-error").hidden = false;
    }
  }

  function signOut(expired) {
    state.token = null;
    state.agent = null;
    state.open = null;
    sessionStorage.removeItem("console.token");
    sessionStorage.removeItem("console.agent");
    if (state.stream) state.stream.abort();
    state.stream = null;
    $("desk-view").hidden = true;
    $("sign-in-view").hidden = false;
    $("sign-out").hidden = true;
    $("live-status").textContent = "";
    showAgent();
    $("sign-in-error").textContent = expired === true ? say("error.unauthorized") : "";
    $("sign-in-error").hidden = expired !== true;
  }

  function showDesk() {
    $("sign-in-view").hidden = true;
    $("desk-view").hidden = false;
    $("sign-out").hidden = false;
    showAgent();
    loadQueue();
    follow();
  }

  // ----- the live channel ----------------------------------------------------------------------
  function setLive(connected) {
    $("live-status").textContent = say(connected ? "live" : "reconnecting");
    $("live-status").classList.toggle("offline", !connected);
  }

  async function follow() {
    if (state.stream) state.stream.abort();
    const controller = new AbortController();
    state.stream = controller;
    const path = `/api/events${state.open ? `?handoff=${state.open}` : ""}`;
    try {
      const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` }, signal: controller.signal });
      if (response.status === 401) return signOut(true);
      if (!response.ok || !response.body) throw new Error(`live channel answered ${response.status}`);
      setLive(true);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          onFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (_lost) {
      if (controller.signal.aborted) return;
    }
    if (state.stream !== controller || !state.token) return;
    setLive(false);
    setTimeout(() => { if (state.stream === controller && state.token) follow(); }, RECONNECT_MS);
  }

  function onFrame(frame) {
    const line = frame.split("\n").find((l) => l.startsWith("event: "));
    const name = line ? line.slice(7) : "";
    if (name === "ready") { loadQueue(); if (state.open) loadConversation(); }
    else if (name === "queue") loadQueue();
    else if (name === "conversation") loadConversation();
    else if (name === "signed_out") signOut(true);
  }

  // ----- the queue -----------------------------------------------------------------------------
  async function loadQueue() {
    if (!state.token) return;
    try {
      const data = await newest("queue", "GET", "/api/handoffs");
      if (!data) return;
      state.queue = data.handoffs;
      state.fetchedAt = Date.now();
      renderQueue();
    } catch (problem) {
      if (problem.status !== 401) setLive(false);
    }
  }

  function timing(entry) {
    const elapsed = (Date.now() - state.fetchedAt) / 1000;
    if (entry.clock_seconds === null) return { text: say("answered"), breached: false };
    const running = entry.clock_seconds + elapsed, left = entry.target_seconds - running;
    const against = say("clock", { clock: clock(running), target: clock(entry.target_seconds) });
    const verdict = left < 0 ? say("past_target", { late: clock(-left) }) : say("to_target", { left: clock(left) });
    return { text: `${against} · ${verdict}`, breached: left < 0 };
  }

  function statusText(entry) {
    if (entry.status === "claimed") return entry.mine ? say("status.claimed_by_you") : say("status.claimed", { name: entry.agent });
    return say(`status.${entry.status}`);
  }

  function renderQueue() {
    const list = $("queue");
    if (!state.strings.queue) return;
    list.replaceChildren(...state.queue.map((entry) => {
      const item = element("li", { "data-testid": "queue-item", "data-handoff-id": String(entry.id),
                                   "data-status": entry.status, tabindex: "0" },
        element("div", { className: "who", text: entry.customer || `${entry.requester} (${say("staff_requester")})` }),
        element("div", { className: "line", text: [say(`reason.${entry.reason}`), statusText(entry),
          entry.status === "waiting" && entry.ahead ? say("ahead", {}, entry.ahead) : ""].filter(Boolean).join(" · ") }),
        element("div", { className: "line wait", text: say("wait", { wait: clock(entry.waiting_seconds) }) }),
        element("div", { className: "line timer", "data-testid": "timer" }));
      item.classList.toggle("open", entry.id === state.open);
      item.addEventListener("click", () => openConversation(entry.id));
      item.addEventListener("keydown", (e) => { if (e.key === "Enter") openConversation(entry.id); });
      return item;
    }));
    $("queue-empty").hidden = state.queue.length > 0;
    tick();
  }

  function tick() {
    const elapsed = (Date.now() - state.fetchedAt) / 1000;
    let breaches = 0;
    for (const item of $("queue").children) {
      const entry = state.queue.find((e) => String(e.id) === item.dataset.handoffId);
      if (!entry) continue;
      const { text, breached } = timing(entry);
      breaches += breached ? 1 : 0;
      item.querySelector(".timer").textContent = text;
      item.querySelector(".wait").textContent = say("wait", { wait: clock(entry.waiting_seconds + elapsed) });
      item.classList.toggle("breached", breached);
    }
    const count = $("breach-count");
    count.textContent = breaches ? say("breaches", {}, breaches) : say("no_breaches");
    count.classList.toggle("breached", breaches > 0);
    count.dataset.count = String(breaches);
  }

  // ----- one conversation ----------------------------------------------------------------------
  function openConversation(id) {
    state.open = id;
    state.detail = null;
    state.invoicesShown = false;
    state.asked.invoices += 1;  // an answer about the previous conversation is dropped
    $("invoices").hidden = true;
    $("invoices").replaceChildren();
    $("transcript").replaceChildren();
    $("reply-text").value = "";
    notice(null);
    for (const item of $("queue").children) item.classList.toggle("open", item.dataset.handoffId === String(id));
    loadConversation();
    follow();
  }

  async function loadConversation() {
    const id = state.open;
    if (!id || !state.token) return;
    try {
      const data = await newest("conversation", "GET", `/api/handoffs/${id}`);
      if (!data || state.open !== id) return;
      state.detail = data;
      renderConversation();
    } catch (problem) {
      if (problem.status === 404) { state.open = null; renderConversation(); notice(problem); }
    }
  }

  function renderConversation() {
    const data = state.detail;
    $("choose").hidden = Boolean(state.open && data);
    $("conversation-body").hidden = !(state.open && data);
    if (!state.open || !data) return;
    const entry = data.handoff;
    $("conversation-title").textContent = entry.customer ? `${entry.customer} (${entry.customer_id})` : entry.requester;
    $("conversation-status").textContent = statusText(entry);
    $("conversation-status").dataset.status = entry.status;
    $("conversation-meta").textContent = `${say(`reason.${entry.reason}`)} · ${say(`channel.${entry.channel}`)}`;
    $("conversation-detail").textContent = entry.detail ? say("their_words", { detail: entry.detail }) : "";
    const mine = entry.status === "claimed" && entry.mine;
    $("claim").hidden = entry.status !== "waiting";
    $("hand-back").hidden = !mine;
    $("close").hidden = !mine;
    $("reply-text").disabled = !mine;
    $("send").disabled = !mine;
    $("look-up-invoices").hidden = !entry.customer_id;
    renderTranscript(data.transcript, entry);
    renderSummary(data.summary);
    const typing = $("customer-typing");
    typing.textContent = say("customer_typing", { name: entry.customer || entry.requester });
    typing.hidden = !entry.customer_typing;
    clearTimeout(state.typingTimer);
    if (entry.customer_typing) state.typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOWN_MS);
  }

  function renderTranscript(turns, entry) {
    const list = $("transcript");
    $("transcript-unavailable").hidden = turns !== null;
    if (turns === null) return;
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    list.replaceChildren(...turns.map((turn) => {
      const time = turn.at ? new Date(turn.at).toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-US") : "";
      if (turn.kind === "paused" || turn.kind === "resumed") {
        return element("li", { className: "marker", "data-kind": turn.kind, text: `${say(turn.kind)} · ${time}` });
      }
      const who = turn.kind === "customer" ? (entry.customer || entry.requester)
        : turn.kind === "agent" ? turn.name : say("assistant");
      return element("li", { className: turn.kind, "data-kind": turn.kind, "data-testid": `turn-${turn.kind}` },
        element("span", { className: "who", text: `${who} · ${time}` }),
        document.createTextNode(turn.text),
        turn.buttons && turn.buttons.length ? element("div", { className: "buttons", text: `[${turn.buttons.join("] [")}]` }) : null);
    }));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderSummary(summary) {
    const part = (key, labels) => [
      element("h4", { text: say(key) }),
      labels.length ? element("ul", {}, ...labels.map((label) => element("li", { text: label })))
        : element("p", { text: say("none") }),
    ];
    $("summary").replaceChildren(
      ...part("topics", summary.topics.map((t) => t.label)),
      ...part("invoices_discussed", summary.invoices.map((i) => i.label)),
      ...part("open_escalations", summary.escalations.map((e) => e.label)));
  }

  async function act(action) {
    const id = state.open;
    notice(null);
    try {
      await api("POST", `/api/handoffs/${id}/${action}`);
    } catch (problem) {
      notice(problem);
    }
    await Promise.all([loadConversation(), loadQueue()]);
  }

  async function send(event) {
    event.preventDefault();
    const text = $("reply-text").value;
    notice(null);
    try {
      await api("POST", `/api/handoffs/${state.open}/messages`, { text });
      $("reply-text").value = "";
      state.typingSentAt = 0;
    } catch (problem) {
      notice(problem);
    }
    loadConversation();
  }

  function typed() {
    const now = Date.now();
    if (!state.open || now - state.typingSentAt < TYPING_EVERY_MS || !$("reply-text").value.trim()) return;
    state.typingSentAt = now;
    api("POST", `/api/handoffs/${state.open}/typing`, { typing: true }).catch(() => {});
  }

  async function showInvoices() {
    const box = $("invoices");
    try {
      const data = await newest("invoices", "GET", `/api/handoffs/${state.open}/invoices`);
      if (!data) return;
      state.invoicesShown = true;
      const heading = element("h4", { text: data.customer ? say("invoices", { customer: data.customer }) : say("look_up_invoices") });
      if (!data.customer_id) { box.replaceChildren(heading, element("p", { text: say("no_customer") })); }
      else if (!data.invoices.length) { box.replaceChildren(heading, element("p", { text: say("no_invoices") })); }
      else {
        const columns = ["number", "period", "total", "due", "status", "balance"];
        const head = element("tr", {}, ...columns.map((c) => element("th", { text: say(`column.${c}`) })));
        const rows = data.invoices.map((inv) => element("tr", { "data-testid": "invoice-row", "data-number": inv.number },
          ...[inv.number, inv.period, inv.total, inv.due_date].map((v) => element("td", { text: v })),
          element("td", { className: inv.status, text: inv.status_text }), element("td", { text: inv.balance })));
        box.replaceChildren(heading, element("table", {}, element("thead", {}, head), element("tbody", {}, ...rows)));
      }
      box.hidden = false;
    } catch (problem) {
      notice(problem);
    }
  }

  // ----- wiring --------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", async () => {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut(false));
    for (const button of document.querySelectorAll(".languages button")) {
      button.addEventListener("click", () => useLanguage(button.dataset.lang));
    }
    $("claim").addEventListener("click", () => act("claim"));
    $("hand-back").addEventListener("click", () => act("release"));
    $("close").addEventListener("click", () => act("close"));
    $("look-up-invoices").addEventListener("click", showInvoices);
    $("reply-form").addEventListener("submit", send);
    $("reply-text").addEventListener("input", typed);
    $("reply-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply-form").requestSubmit(); }
    });
    setInterval(tick, 1000);
    await useLanguage(state.lang);
    if (state.token) showDesk(); else signOut(false);
  });
})();
