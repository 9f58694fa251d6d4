// The trainer's console. With no host token it offers "Create a workshop"; once the
// server sends `session_created`, the token is kept on this device (localStorage), so
// /host reopens the workshop here; the secret host link (/host#TOKEN) opens it anywhere.
// The token never stays in the address bar, which a projector shows to the room. With a token it takes the
// host seat (`host_session`) and shows four views: Join (code, address, QR), Lobby &
// pairs (participants, round setup, planned pairs), Live (a card per pair, controls,
// broadcast) and Room debrief (figures per pair, facts, exports). The secret host link
// stays hidden until the trainer asks for it ("Host link", on the Lobby and Live views
// only), and hides again on any change of view: the Join and Room debrief views are the
// ones on the projector, so it is never offered there. It reconnects by
// itself if the connection drops (ws.js): first `reconnect` with its own resume token,
// then `host_session` again, which answers with the whole console.

import { copyText } from "./clipboard.js";
import { byId, h, replace } from "./dom.js";
import { toast } from "./toast.js";
import { Connection } from "./ws.js";
import { download, exportPath } from "./console/api.js";
import { joinPanel } from "./console/join.js";
import { livePanel } from "./console/live.js";
import { namesWall, participantsPanel } from "./console/participants.js";
import { planPanel } from "./console/plan.js";
import { resultsPanel } from "./console/results.js";
import { MAX_NAME_CHARS } from "./views/name.js";

const TOKEN_KEY = "uncover.host_token";
const NAME_KEY = "uncover.console.name";
const THEME_KEY = "uncover.console.theme";
const SCALE_KEY = "uncover.console.scale";
/** Must match MAX_TITLE_CHARS in server/src/workshop.rs. */
const MAX_TITLE_CHARS = 80;
/** A host token is 32 hex digits; anything much longer pasted in is not one. */
const MAX_TOKEN_CHARS = 128;
/** Text size steps for projectors: from a little smaller than a laptop to very large. */
const SCALES = [0.85, 1, 1.15, 1.3, 1.5, 1.75];
/** Where this tab keeps its resume token; apart from the trainee page's, so a trainer
 * can also try the trainee page in another tab. */
const SEAT_KEY = "uncover.console.seat";
/** How long "Copied" shows on the copy button. */
const COPIED_MS = 2000;

const VIEWS = [
  ["join", "Join"],
  ["lobby", "Lobby & pairs"],
  ["live", "Live"],
  ["results", "Room debrief"],
];

const root = byId("console");

const state = {
  token: tokenFromHash() ?? stored(TOKEN_KEY),
  name: stored(NAME_KEY) || "Trainer",
  /** What to do once `welcome` arrives: { create: title } or { host: token }. */
  pending: null,
  scenarios: [],
  console: null,
  view: null,
  /** Rounds started when the console last drew, to notice a new round. */
  roundsSeen: null,
  /** The last round whose finish already switched to the room debrief. */
  resultsShownFor: 0,
  hostLink: null,
  /** True once this page has held the host seat, so a lost connection is retried. */
  seated: false,
};

// ---- small helpers ----

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Private mode may refuse storage; the address still carries the token.
  }
}

/** The token from "/host#TOKEN", or null. */
function tokenFromHash() {
  const t = decodeURIComponent(window.location.hash.replace(/^#/, "")).trim();
  return t && t.length <= MAX_TOKEN_CHARS ? t : null;
}

/** A token from what a trainer pasted: a whole host link or the token alone. */
function tokenFromInput(text) {
  const t = text.trim();
  const i = t.indexOf("#");
  const token = (i >= 0 ? t.slice(i + 1) : t).trim();
  return token && token.length <= MAX_TOKEN_CHARS && /^[A-Za-z0-9_-]+$/.test(token) ? token : null;
}

function sentence(text) {
  const t = String(text ?? "").trim();
  if (!t) return "Something went wrong.";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}


// ---- theme and text size (projectors differ) ----

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
}

function currentTheme() {
  const saved = stored(THEME_KEY);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function applyScale(scale) {
  document.documentElement.style.setProperty("--console-scale", String(scale));
}

function currentScale() {
  const s = Number(stored(SCALE_KEY));
  return SCALES.includes(s) ? s : 1;
}

applyTheme(currentTheme());
applyScale(currentScale());

// ---- connection ----

const conn = new Connection({ onMessage, onStatus, seatKey: SEAT_KEY });

function send(msg) {
  if (conn.send(msg)) return true;
  toast("Not connected to the server; the console is reconnecting.");
  return false;
}

/** Takes the host seat (`{ host: token }`) or creates a workshop (`{ create: title }`).
 * A console that already has a resume token takes its connection back first. */
function connect(pending) {
  state.pending = pending;
  // The kept connection may have hosted another workshop in this tab: only reuse it for the same one.
  if (pending.host && conn.note("hostToken") === pending.host && conn.resume()) return;
  conn.hello(state.name);
}

function onStatus(status, detail) {
  const banner = byId("conn-banner");
  switch (status) {
    case "online":
      banner.hidden = true;
      return;
    case "reconnecting":
      if (banner.dataset.state === "reconnecting" && !banner.hidden) return;
      banner.dataset.state = "reconnecting";
      banner.className = "conn-banner is-reconnecting";
      banner.setAttribute("role", "status");
      replace(banner,
        h("span", { class: "spinner", "aria-hidden": "true" }),
        h("span", { id: "conn-text" }, /restart/i.test(detail?.reason ?? "")
          ? "The server is restarting. Reconnecting…"
          : "Connection lost. Reconnecting…"),
        h("span", { class: "conn-hint" }, "The workshop carries on; the console catches up when it is back."),
        h("button", { type: "button", class: "btn btn-small", id: "reconnect-now", on: { click: () => conn.retryNow() } }, "Try now"));
      banner.hidden = false;
      return;
    case "replaced":
      // Another tab took this connection (a duplicated tab shares its token). The host
      // seat belongs to the host link, not the connection: take it on a new one.
      conn.leave();
      if (state.token) connect({ host: state.token });
      return;
    case "closed":
      if (!state.seated) {
        startScreen?.failed(detail?.reason ?? "Could not reach the server.");
        return;
      }
      banner.dataset.state = "closed";
      banner.className = "conn-banner";
      replace(banner,
        h("span", {}, detail?.reason ?? "The connection to the server was lost."),
        h("button", { type: "button", class: "btn btn-small", on: { click: () => connect({ host: state.token }) } }, "Reconnect"));
      banner.hidden = false;
      return;
    default:
  }
}

/** Messages that only mean something once the console is on screen. */
const CONSOLE_ONLY = new Set(["live", "round_results", "broadcast"]);

function onMessage(msg) {
  if (CONSOLE_ONLY.has(msg.type) && !state.console) return;
  switch (msg.type) {
    case "reconnected":
      // The connection is back; the host seat is asked for again (the server answers
      // with the whole console, whatever was missed).
      if (state.token) {
        state.pending = { host: state.token };
        send({ type: "host_session", token: state.token });
      }
      return;
    case "session_deleted":
      store(TOKEN_KEY, null);
      state.token = null;
      state.seated = false;
      state.console = null;
      conn.leave();
      window.history.replaceState(null, "", "/host");
      showStart("This workshop was deleted, with everything recorded about it.");
      return;
    case "welcome":
      state.scenarios = msg.scenarios ?? [];
      plan?.scenariosChanged();
      if (state.pending?.create !== undefined) send({ type: "create_session", title: state.pending.create });
      else if (state.pending?.host) send({ type: "host_session", token: state.pending.host });
      return;
    case "session_created":
      state.token = msg.host_token;
      store(TOKEN_KEY, state.token);
      // Kept on this device, never in the address bar: a projected address is a photo away.
      window.history.replaceState(null, "", "/host");
      state.hostLink = window.location.origin + msg.host_path;
      state.pending = null;
      return;
    case "console":
      state.pending = null;
      state.seated = true;
      conn.setNote("hostToken", state.token);
      if (!state.console) {
        // The token moves from the address to this device: the address bar is on the projector.
        window.history.replaceState(null, "", "/host");
        store(TOKEN_KEY, state.token);
        state.hostLink = `${window.location.origin}/host#${state.token}`;
        showConsole();
      }
      drawConsole(msg);
      return;
    case "live":
      live.update(msg);
      return;
    case "round_results":
      if (state.console) {
        const i = state.console.results.findIndex((r) => r.round === msg.round);
        if (i >= 0) state.console.results[i] = msg;
        else state.console.results.push(msg);
        plan.update(state.console, roundRunning(state.console));
      }
      results.update(msg);
      maybeShowResults(msg);
      return;
    case "broadcast":
      // Listed under the broadcast box, which is where the trainer just sent it from.
      live?.broadcastSent(msg.text);
      return;
    case "error":
      onError(msg);
      return;
    default:
      // Trainee-side messages never reach a host seat; anything else new is ignored.
  }
}

function onError(msg) {
  const text = sentence(msg.message);
  if (msg.code === "reconnect_failed") {
    // The server no longer knows this connection's seat (e.g. it restarted without its
    // data): introduce ourselves again and ask for the host seat.
    connect({ host: state.token });
    return;
  }
  if (state.pending) {
    // Taking the seat failed: on a first visit, or after a reconnect to a server that has
    // since forgotten the workshop (it restarted without its store).
    state.seated = false;
    state.console = null;
    if (state.pending.host) {
      // The token is not (or no longer) valid here: forget it so the next visit starts fresh.
      store(TOKEN_KEY, null);
      state.token = null;
      window.history.replaceState(null, "", "/host");
      showStart(`${text} Create a new workshop, or paste another host link.`);
    } else {
      startScreen?.failed(text);
    }
    conn.leave();
    return;
  }
  if (state.view === "lobby") plan.refused(text);
  toast(text);
}

// ---- the start screen ----

let startScreen = null;

function showStart(message = null) {
  const title = h("input", { type: "text", id: "session-title", maxLength: MAX_TITLE_CHARS, placeholder: "e.g. Discovery skills, Tuesday group", autocomplete: "off" });
  const name = h("input", { type: "text", id: "trainer-name", maxLength: MAX_NAME_CHARS, value: state.name, autocomplete: "name" });
  const createBtn = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "create-session" }, "Create the workshop");
  const status = h("p", { class: "form-status", id: "start-status", role: "status" });
  const form = h("form", { class: "start-form", id: "create-form", novalidate: true },
    h("label", { for: "session-title", class: "field-label" }, "Workshop title"), title,
    h("label", { for: "trainer-name", class: "field-label" }, "Your name"), name,
    h("div", { class: "form-row" }, createBtn), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = name.value.trim() || "Trainer";
    state.name = n;
    store(NAME_KEY, n);
    createBtn.disabled = true;
    status.className = "form-status";
    status.textContent = "Creating…";
    connect({ create: title.value.trim() });
  });

  const linkInput = h("input", { type: "text", id: "host-link-input", placeholder: "Paste your host link", autocomplete: "off", spellcheck: "false" });
  const openForm = h("form", { class: "inline-form", id: "open-form" }, linkInput,
    h("button", { type: "submit", class: "btn" }, "Open"));
  openForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenFromInput(linkInput.value);
    if (!token) {
      status.className = "form-status is-error";
      status.textContent = "That does not look like a host link. It ends in # and 32 letters and digits.";
      return;
    }
    state.token = token;
    window.history.replaceState(null, "", `/host#${token}`);
    status.className = "form-status";
    status.textContent = "Opening…";
    connect({ host: token });
  });

  const el = h("main", { class: "screen screen-narrow start-screen", id: "screen-start" },
    h("div", { class: "hero" },
      h("h1", { class: "brand" }, "Uncover"),
      h("p", { class: "lead" }, "Run a discovery workshop: trainees join from their phones, you pair them, run the rounds and show the room what came out.")),
    message ? h("p", { class: "alert", role: "alert" }, message) : null,
    h("section", { class: "card" }, h("h2", {}, "Create a workshop"), form),
    h("section", { class: "card" }, h("h2", {}, "Already hosting one?"),
      h("p", { class: "muted" }, "Open your secret host link, or paste it here."), openForm));
  replace(root, el);
  title.focus();
  startScreen = {
    failed(text) {
      createBtn.disabled = false;
      status.className = "form-status is-error";
      status.textContent = text;
    },
  };
}

// ---- the console ----

let join = null;
let wall = null;
let people = null;
let plan = null;
let live = null;
let results = null;
let headerTitle = null;
let headerCode = null;
let hostLinkPanel = null;
const tabs = new Map();
const panes = new Map();

function exportFile(format, table) {
  const session = state.console?.session;
  if (session === undefined) return;
  const fallback = format === "json" ? "uncover-session.json" : `uncover-session-${table}.csv`;
  download(exportPath(session, format, table), state.token, fallback)
    .then((name) => toast(`Downloaded ${name}`, "ok"))
    .catch((err) => toast(`Export failed: ${err.message}`));
}

function hostLinkSection() {
  // Filled only while the panel is open, so the link is not in the page otherwise.
  const input = h("input", { type: "text", readOnly: true, id: "host-link", value: "", "aria-label": "Secret host link" });
  const copy = h("button", { type: "button", class: "btn btn-primary", id: "copy-host-link" }, "Copy");
  copy.addEventListener("click", async () => {
    const ok = await copyText(input.value, input);
    copy.textContent = ok ? "Copied" : "Select and copy";
    setTimeout(() => { copy.textContent = "Copy"; }, COPIED_MS);
  });
  input.addEventListener("focus", () => input.select());
  const el = h("section", { class: "card hostlink-panel", id: "host-link-panel", hidden: true, "aria-labelledby": "hostlink-h" },
    h("div", { class: "card-head" }, h("h2", { id: "hostlink-h" }, "Your secret host link"),
      h("button", { type: "button", class: "btn btn-small", on: { click: () => { el.hidden = true; input.value = ""; } } }, "Hide")),
    h("p", { class: "warning-text" }, h("strong", {}, "Anyone with this link is the host: "),
      "they can pair people, run rounds, and see and export every result. Bookmark it or keep it somewhere private to come back to this console; never show it on the projector."),
    h("div", { class: "inline-form link-box" }, input, copy),
    h("p", { class: "hint" }, "Running another group? ",
      h("button", {
        type: "button", class: "link-btn", id: "new-workshop",
        on: {
          click: () => {
            // This workshop carries on; its host link above still opens it.
            store(TOKEN_KEY, null);
            window.location.assign("/host");
          },
        },
      }, "Create another workshop"), " (copy this link first to come back here)."));
  return {
    el,
    hide() {
      el.hidden = true;
      input.value = "";
    },
    toggle() {
      if (PROJECTED.has(state.view)) return;
      input.value = el.hidden ? state.hostLink ?? "" : "";
      el.hidden = !el.hidden;
    },
  };
}

function showConsole() {
  startScreen = null;
  const scenarios = () => state.scenarios;
  join = joinPanel({ token: () => state.token });
  wall = namesWall();
  people = participantsPanel({ send });
  plan = planPanel({ send, scenarios });
  live = livePanel({ send, scenarios, showResults: () => { results.showLatest(); selectView("results"); } });
  results = resultsPanel({
    scenarios, exportFile,
    planNext: () => {
      selectView("lobby");
      byId("plan-round")?.focus();
    },
  });
  hostLinkPanel = hostLinkSection();

  headerTitle = h("h1", { class: "console-title", id: "console-title" });
  headerCode = h("span", { class: "header-code", id: "header-code" });
  const nav = h("nav", { class: "console-tabs", "aria-label": "Console views" },
    VIEWS.map(([id, label]) => {
      const b = h("button", { type: "button", class: "tab-btn", dataset: { view: id }, on: { click: () => selectView(id) } }, label);
      tabs.set(id, b);
      return b;
    }));
  const themeBtn = h("button", { type: "button", class: "btn btn-small", id: "theme-toggle" });
  const drawTheme = () => {
    const t = document.documentElement.dataset.theme;
    themeBtn.textContent = t === "dark" ? "☀ Light" : "☾ Dark";
    themeBtn.setAttribute("aria-label", t === "dark" ? "Switch to the light theme" : "Switch to the dark theme");
  };
  themeBtn.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(next);
    store(THEME_KEY, next);
    drawTheme();
  });
  drawTheme();
  // The accessible name starts with the visible text ("A− smaller text").
  const sizeBtn = (delta, label, aria) => h("button", {
    type: "button", class: "btn btn-small", title: aria,
    on: {
      click: () => {
        const i = SCALES.indexOf(currentScale());
        const next = SCALES[Math.max(0, Math.min(SCALES.length - 1, i + delta))];
        applyScale(next);
        store(SCALE_KEY, String(next));
      },
    },
  }, label, h("span", { class: "sr-only" }, ` ${aria.toLowerCase()}`));

  const handsBadge = h("button", {
    type: "button", class: "btn btn-small hands-badge", id: "hands-badge", hidden: true,
    on: { click: () => selectView("live") },
  });
  live.setHandsBadge(handsBadge);

  const header = h("header", { class: "console-bar", id: "console-bar" },
    h("div", { class: "console-id" },
      h("span", { class: "brand brand-sm" }, "Uncover"),
      headerTitle, headerCode),
    nav,
    h("div", { class: "console-tools" },
      handsBadge,
      h("button", { type: "button", class: "btn btn-small", id: "show-host-link", "aria-controls": "host-link-panel", on: { click: () => hostLinkPanel.toggle() } }, "Host link"),
      themeBtn, sizeBtn(-1, "A−", "Smaller text"), sizeBtn(1, "A+", "Larger text")));

  panes.set("join", h("div", { class: "pane pane-join", id: "pane-join" }, join.el, wall.el));
  panes.set("lobby", h("div", { class: "pane pane-lobby", id: "pane-lobby" }, people.el, plan.el));
  panes.set("live", h("div", { class: "pane pane-live", id: "pane-live" }, live.el));
  panes.set("results", h("div", { class: "pane pane-results", id: "pane-results" }, results.el));

  replace(root, header, h("main", { class: "console-main" }, hostLinkPanel.el, ...panes.values()));
  // Sticky view headings sit just under the sticky header bar, whatever its height.
  const barHeight = () => document.documentElement.style.setProperty("--bar-h", `${header.offsetHeight}px`);
  barHeight();
  if (window.ResizeObserver) new ResizeObserver(barHeight).observe(header);
}

/** Views shown on the projector: the host link is never offered on them. */
const PROJECTED = new Set(["join", "results"]);

function selectView(id) {
  state.view = id;
  hostLinkPanel?.hide();
  const linkBtn = byId("show-host-link");
  if (linkBtn) linkBtn.hidden = PROJECTED.has(id);
  for (const [v, pane] of panes) pane.hidden = v !== id;
  for (const [v, b] of tabs) b.setAttribute("aria-current", v === id ? "page" : "false");
  document.title = `Uncover · ${VIEWS.find(([v]) => v === id)?.[1] ?? ""}${state.console ? ` · ${state.console.title}` : ""}`;
}

function roundRunning(c) {
  if (!c || c.rounds_started === 0) return false;
  const last = c.results.find((r) => r.round === c.rounds_started);
  if (last) return last.pairs_playing > 0;
  return c.live.some((card) => card.phase !== "debrief");
}

function drawConsole(c) {
  const first = state.console === null;
  state.console = c;
  headerTitle.textContent = c.title;
  replace(headerCode, "Code ", h("strong", {}, c.code));
  const running = roundRunning(c);
  join.update(c);
  wall.update(c.participants, c.failed_joins ?? []);
  people.update(c.participants);
  plan.update(c, running);
  live.reset(c.live, c.rounds_started);
  results.setAll(c.results);
  for (const r of c.results) if (r.pairs_playing === 0) state.resultsShownFor = Math.max(state.resultsShownFor, r.round);

  if (first) {
    selectView(c.rounds_started === 0 ? "join" : running ? "live" : "results");
  } else if (state.roundsSeen !== null && c.rounds_started > state.roundsSeen) {
    selectView("live");
  }
  state.roundsSeen = c.rounds_started;
}

/** When the current round's last pair finishes, the projector moves to the room debrief. */
function maybeShowResults(r) {
  if (!state.console || r.round !== state.console.rounds_started) return;
  if (r.pairs_playing > 0 || r.round <= state.resultsShownFor) return;
  state.resultsShownFor = r.round;
  results.showLatest();
  selectView("results");
}

window.addEventListener("hashchange", () => {
  const t = tokenFromHash();
  if (t && t !== state.token) window.location.reload();
});

// ---- start ----

if (state.token) {
  replace(root, h("main", { class: "screen screen-narrow" },
    h("p", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Opening your workshop…")));
  startScreen = { failed: (text) => showStart(`${text} Reload the page to try again.`) };
  connect({ host: state.token });
} else {
  showStart();
}
