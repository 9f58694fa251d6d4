// The trainee page: connects, then moves between the name screen, the lobby, the room
// and the debrief as server messages arrive. Each screen is a view object with an `el`;
// this module owns the connection and the few facts that outlive a screen.
//
// A dropped connection comes back by itself (ws.js) and this page keeps showing the
// round meanwhile, under a calm "Reconnecting…" banner. A reloaded page takes its seat
// back and replays what it was shown, quietly, to rebuild the same screen; when the
// server cannot replay (it restarted, or too much was missed) it sends the whole view
// again and the page starts from a clean state.

import { byId, h, replace } from "./dom.js";
import { ROLE_LABEL, PHASE_LABEL } from "./format.js";
import { toast } from "./toast.js";
import { Connection } from "./ws.js";
import { debriefView } from "./debrief.js";
import { lobbyView } from "./views/lobby.js";
import { nameView, rememberedName } from "./views/name.js";
import { observerView } from "./views/observer.js";
import { roomView } from "./views/room.js";
import { sessionView } from "./views/session.js";

const params = new URLSearchParams(window.location.search);

/** After `reconnected` without a replay, the server's room and workshop send the view
 * again within moments; with nothing by then, the participant is simply in the lobby. */
const REBUILD_SETTLE_MS = 1500;
/** The rebuilt view comes in one burst; this long without a message means it is all here. */
const REBUILD_QUIET_MS = 300;
/** sessionStorage key for text typed in a room, kept over a reload. */
const DRAFTS_KEY = "uncover.drafts";
/** localStorage key where a tab holding a seat says so, for a second tab's name screen. */
const OPEN_TAB_KEY = "uncover.open_tab";
/** How often that tab says it is still open, and how old a word may be to count. */
const OPEN_TAB_BEAT_MS = 4000;
const OPEN_TAB_FRESH_MS = 12_000;
/** This tab, among others of the same browser. */
const TAB_ID = Math.random().toString(36).slice(2);

const state = {
  name: "",
  scenarios: [],
  /** "" means any scenario. */
  scenarioChoice: "",
  /** null, { kind: "queue", scenario, botAvailable } or { kind: "link", code, url, scenario }. */
  waiting: null,
  /** A pair code from `?pair=CODE`, joined once the name is known. */
  pairCode: params.get("pair")?.trim() || null,
  /** A workshop code from `?join=CODE`, joined once the name is known. */
  joinCode: params.get("join")?.trim() || null,
  /** The workshop this trainee is in ({ title, code }), if any: its trainer pairs them. */
  session: null,
  /** Back from a round in a workshop (changes the waiting room's wording). */
  afterRound: false,
  role: null,
  phase: null,
  partnerPresent: false,
  /** Set when we leave a room, so the server's "not in a room" (room already closed) is not shown as a fault. */
  leaving: false,
  /** The room (or observed room) on screen, to match drafts to it. */
  roomId: null,
  /** The `seq` of the message that opened the room on screen. */
  roomSeq: 0,
  /** After `reconnected` without a replay: { gotView, timer } until the view is rebuilt. */
  rebuild: null,
  /** Text typed in a room before a reload or a rebuild: { room, fields }. */
  drafts: loadDrafts(),
  /** Why the seat was lost, shown once the lobby is back. */
  seatLost: null,
  /** The pair's raised hand (`hand` message) while it is up, in a workshop round. */
  hand: null,
  /** The waiting state being asked for again after a reconnect. */
  requeue: null,
  /** Such requests not yet answered; each may come back as "already waiting". */
  requeueAsks: 0,
};

const root = byId("app");
let screen = null;
let view = null;

// A seat worth keeping when the tab closes: in a round, or in a workshop.
const conn = new Connection({ onMessage, onStatus, parkWhen: () => inRoomScreen() || screen === "session" });
/** True while handling a message from a quiet replay. */
let quiet = false;

function notify(text, kind) {
  if (!quiet) toast(text, kind);
}

function loadDrafts() {
  try {
    const d = JSON.parse(sessionStorage.getItem(DRAFTS_KEY) ?? "null");
    sessionStorage.removeItem(DRAFTS_KEY);
    return d && typeof d === "object" ? d : null;
  } catch {
    return null;
  }
}

/** Text typed in the room on screen, to survive a rebuilt view. */
function currentDrafts() {
  if (screen !== "room" || !view?.drafts) return null;
  const fields = view.drafts();
  return Object.keys(fields).length ? { room: state.roomId, fields } : null;
}

function show(kind, next) {
  view?.destroy?.();
  screen = kind;
  view = next;
  replace(root, next.el);
  window.scrollTo(0, 0);
  next.mounted?.();
  // A new screen puts focus on the next thing to do, never leaves it on <body>.
  if (!root.contains(document.activeElement)) {
    const target = ["#ready-btn", "#chat-input:not([disabled])", ".btn-primary:not([disabled])", "h1", "h2"]
      .map((sel) => next.el.querySelector(sel)).find(Boolean);
    if (target && !target.matches("button, input, textarea, select, a")) target.tabIndex = -1;
    target?.focus({ preventScroll: true });
  }
  updateTitle();
}

function updateTitle() {
  beatOpenTab();
  const parts = ["Uncover"];
  if ((screen === "room" || screen === "observer") && state.role) {
    parts.push(ROLE_LABEL[state.role], PHASE_LABEL[state.phase] ?? "");
  }
  if (screen === "session" && state.session) parts.push(state.session.title);
  if (screen === "debrief") parts.push("Debrief");
  document.title = parts.filter(Boolean).join(" · ");
}

function send(msg) {
  if (quiet) return false;
  const ok = conn.send(msg);
  if (!ok) {
    // A tab paused for another one is not reconnecting: say what it is.
    toast(banner().dataset.state === "replaced"
      ? "Not sent: this tab is paused because Uncover is open in another tab. Choose “Use it here” to carry on in this one."
      : "Not sent: Uncover is reconnecting to the server. What you typed is still here; try again in a moment.");
  }
  return ok;
}

function sentence(text) {
  const t = String(text ?? "").trim();
  if (!t) return "Something went wrong.";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

// ---- screens ----

/** Another tab of this browser that holds a seat right now: `{ name, where }`, or null. */
function otherOpenTab() {
  try {
    const t = JSON.parse(localStorage.getItem(OPEN_TAB_KEY) ?? "null");
    return t && t.tab !== TAB_ID && Date.now() - t.at < OPEN_TAB_FRESH_MS ? t : null;
  } catch {
    return null;
  }
}

/** While this tab holds a seat, it says so every few seconds. */
function beatOpenTab() {
  if (!conn.hasSeat || screen === "name" || screen === null) return;
  const where = inRoomScreen() ? "in a round" : screen === "session" ? "in a workshop" : "in the lobby";
  try {
    localStorage.setItem(OPEN_TAB_KEY, JSON.stringify({ tab: TAB_ID, name: state.name, where, at: Date.now() }));
  } catch {
    // No storage: a second tab just cannot be told.
  }
}
setInterval(beatOpenTab, OPEN_TAB_BEAT_MS);
window.addEventListener("pagehide", () => {
  try {
    if (JSON.parse(localStorage.getItem(OPEN_TAB_KEY) ?? "null")?.tab === TAB_ID) localStorage.removeItem(OPEN_TAB_KEY);
  } catch {
    // Nothing to tidy.
  }
});

function showName() {
  const refused = state.joinRefused;
  state.joinRefused = null;
  show("name", nameView({
    elsewhere: otherOpenTab(),
    invite: state.joinCode ? "workshop" : state.pairCode ? "pair" : null,
    code: state.joinCode,
    refused,
    onSubmit: (name) => {
      state.name = name;
      conn.hello(name);
    },
  }));
}

function showLobby() {
  state.role = null;
  state.phase = null;
  if (state.session) {
    show("session", sessionView({ session: state.session, name: state.name, afterRound: state.afterRound }));
    return;
  }
  show("lobby", lobbyView({
    state,
    send: (msg) => {
      state.leaving = false;
      return conn.send(msg);
    },
    onChangeName: () => {
      conn.leave();
      state.waiting = null;
      showName();
    },
  }));
}

function leaveRoom() {
  // Remembered with the seat: a reload replays the room, then leaves it again here.
  conn.setNote("leftAt", conn.lastSeq);
  // An observer sits in no room; there is nothing to leave.
  if (state.role !== "observer") conn.send({ type: "leave_room" });
  leaveLocally();
}

function leaveLocally() {
  state.leaving = true;
  state.waiting = null;
  state.afterRound = true;
  state.roomId = null;
  showLobby();
}

/** A trainer's broadcast belongs to the moment it was sent: it goes when the phase
 * changes (or the trainee moves to another screen), or when dismissed. */
function clearBroadcast() {
  const banner = byId("broadcast");
  if (banner.hidden) return;
  const hadFocus = banner.contains(document.activeElement);
  banner.hidden = true;
  replace(banner);
  document.documentElement.style.removeProperty("--broadcast-h");
  if (hadFocus) view?.el?.querySelector("h1, h2")?.focus?.();
}

function showBroadcast(text) {
  const banner = byId("broadcast");
  replace(banner,
    h("span", { class: "broadcast-from" }, "From your trainer"),
    h("span", { class: "broadcast-text", id: "broadcast-text" }, text),
    h("button", {
      type: "button", class: "toast-close", id: "broadcast-dismiss", "aria-label": "Dismiss the trainer's message",
      on: { click: clearBroadcast },
    }, "×"));
  banner.hidden = false;
  document.documentElement.style.setProperty("--broadcast-h", `${banner.offsetHeight}px`);
}

// ---- connection ----

function banner() {
  return byId("conn-banner");
}

function hideBanner() {
  const b = banner();
  b.hidden = true;
  b.className = "conn-banner";
  delete b.dataset.state;
}

/** A calm, non-blocking line at the top while the connection is away. */
function showReconnecting(detail) {
  const b = banner();
  if (b.dataset.state === "reconnecting") return;
  view?.connectionLost?.();
  b.dataset.state = "reconnecting";
  b.className = "conn-banner is-reconnecting";
  b.setAttribute("role", "status");
  const restarting = /restart/i.test(detail?.reason ?? "");
  replace(b,
    h("span", { class: "spinner", "aria-hidden": "true" }),
    h("span", { id: "conn-text" }, restarting
      ? "The server is restarting. Reconnecting…"
      : "Connection lost. Reconnecting…"),
    h("span", { class: "conn-hint" }, "Your seat is kept; you can keep reading and typing."),
    h("button", {
      type: "button", class: "btn btn-small", id: "reconnect-now",
      on: { click: () => conn.retryNow() },
    }, "Try now"));
  b.hidden = false;
}

function onStatus(status, detail) {
  switch (status) {
    case "online":
      hideBanner();
      return;
    case "reconnecting":
      showReconnecting(detail);
      return;
    case "replaced": {
      const b = banner();
      b.dataset.state = "replaced";
      b.className = "conn-banner is-paused-tab";
      b.setAttribute("role", "status");
      replace(b,
        h("span", {}, "Uncover is open for you in another tab or window, so this one is paused."),
        h("button", {
          type: "button", class: "btn btn-small", id: "use-here",
          on: { click: () => { hideBanner(); resumeFromStart(); } },
        }, "Use it here"));
      b.hidden = false;
      return;
    }
    case "closed":
      if (screen === "name" || screen === null) {
        view?.failed?.(detail?.reason ? `${detail.reason} Check the address and try again.` : "Could not reach the server.");
        return;
      }
      if (screen === "resuming") {
        showName();
        view.failed(detail?.reason ?? "Could not reach the server.");
        return;
      }
      state.waiting = null;
      replace(banner(),
        h("span", {}, detail?.reason ?? "The connection to the server was lost."),
        h("button", {
          type: "button", class: "btn btn-small", id: "reconnect",
          on: { click: () => { hideBanner(); conn.hello(state.name); } },
        }, "Start again"));
      banner().className = "conn-banner";
      banner().hidden = false;
      return;
    default:
  }
}

/** "Taking your seat back…" while a reloaded page reconnects. */
function showResuming() {
  show("resuming", {
    el: h("main", { class: "screen screen-narrow", id: "screen-resuming" },
      h("p", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }),
        h("span", {}, "Taking your seat back…"))),
  });
}

/** Takes the kept seat back and replays everything this page was shown (after a reload,
 * or when this tab takes the seat back from another one). */
function resumeFromStart() {
  state.name = conn.seat?.name ?? state.name;
  if (!state.drafts) state.drafts = currentDrafts();
  conn.resume({ fromStart: true });
}

/** The seat is back and the view is current: put typed text back, and redo what the
 * server forgets when a connection drops (a place in the queue, a private link). */
function finishResume(waitingBefore) {
  if (screen === "room" && state.drafts && state.drafts.room === state.roomId) {
    view.restoreDrafts(state.drafts.fields);
  }
  state.drafts = null;
  if (screen !== "lobby") return;
  if (waitingBefore) {
    // The server drops a place in the queue and a private link when it notices a
    // connection end. Ask again: "already waiting" means it had not noticed, and the
    // old place (or link) still holds.
    const scenario = waitingBefore.scenario ? { scenario: waitingBefore.scenario } : {};
    state.requeue = waitingBefore;
    state.waiting = null;
    view.update();
    state.requeueAsks += 1;
    send({ type: waitingBefore.kind === "link" ? "create_pair_link" : "find_partner", ...scenario });
  }
  sendInviteCodes();
}

function sendInviteCodes() {
  if (state.joinCode) {
    conn.send({ type: "join_session", code: state.joinCode });
    state.joinCode = null;
    window.history.replaceState(null, "", window.location.pathname);
  } else if (state.pairCode) {
    conn.send({ type: "join_pair_link", code: state.pairCode });
    state.pairCode = null;
    // A reload or "play another round" must not try the used link again.
    window.history.replaceState(null, "", window.location.pathname);
  }
}

/** `reconnected` without a replay: forget what this page knew and let the messages
 * that follow rebuild it. The old screen stays up until they do, and "Catching up…"
 * shows until the burst is over. */
function startRebuild() {
  if (!state.drafts) state.drafts = currentDrafts();
  const waitingBefore = state.waiting ?? state.requeue;
  state.waiting = null;
  state.session = null;
  state.role = null;
  state.phase = null;
  state.partnerPresent = false;
  state.leaving = false;
  // The view that follows is the server's own account; an earlier local leave is in it.
  conn.setNote("leftAt", 0);
  clearTimeout(state.rebuild?.timer);
  const rebuild = { gotView: false, timer: 0, settle: null };
  rebuild.settle = () => {
    if (state.rebuild !== rebuild) return;
    state.rebuild = null;
    if (!rebuild.gotView) {
      state.roomId = null;
      showLobby();
    }
    if (banner().dataset.state === "catching-up") hideBanner();
    finishResume(waitingBefore);
  };
  rebuild.timer = setTimeout(rebuild.settle, REBUILD_SETTLE_MS);
  state.rebuild = rebuild;
  showCatchingUp();
  if (!state.scenarios.length) loadScenarios();
}

/** A message of a rebuilt view arrived: wait for the rest of the burst. */
function rebuildProgress() {
  const rebuild = state.rebuild;
  if (!rebuild?.gotView) return;
  clearTimeout(rebuild.timer);
  rebuild.timer = setTimeout(rebuild.settle, REBUILD_QUIET_MS);
}

function showCatchingUp() {
  const b = banner();
  b.dataset.state = "catching-up";
  b.className = "conn-banner is-reconnecting";
  b.setAttribute("role", "status");
  replace(b, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { id: "conn-text" }, "Back online. Catching up…"));
  b.hidden = false;
}

/** The lobby's scenario list, when no `welcome` brought it (a rebuilt view). */
function loadScenarios() {
  fetch("/api/scenarios")
    .then((r) => (r.ok ? r.json() : []))
    .then((list) => {
      if (!Array.isArray(list) || state.scenarios.length) return;
      state.scenarios = list;
      if (screen === "lobby") view.update();
    })
    .catch(() => {
      // The lobby still offers "any scenario" without the list.
    });
}

function gotView() {
  if (state.rebuild) state.rebuild.gotView = true;
}

function inRoomScreen() {
  return screen === "room" || screen === "observer" || screen === "debrief";
}

function onMessage(msg, meta = {}) {
  // Replayed after a reload: rebuild the screen, but old errors and notices are not news.
  quiet = Boolean(meta.replaying);
  const leftAt = conn.note("leftAt");
  if (leftAt && msg.seq > leftAt && inRoomScreen() && state.roomSeq <= leftAt) {
    // A replay passed the moment the user left this room (a step the server never
    // sees, after a debrief for instance): leave it again here.
    leaveLocally();
  }
  try {
    handleMessage(msg);
  } finally {
    quiet = false;
  }
  if (msg.type !== "reconnected") rebuildProgress();
}

function handleMessage(msg) {
  switch (msg.type) {
    case "reconnected": {
      state.name = msg.name;
      // A request to wait again may itself have been cut off by this drop.
      const waitingBefore = state.waiting ?? state.requeue;
      if (msg.replayed) {
        if (screen === "resuming") showLobby();
        finishResume(waitingBefore);
      } else {
        startRebuild();
      }
      return;
    }
    case "welcome":
      state.name = msg.name;
      state.scenarios = msg.scenarios ?? [];
      if (state.scenarioChoice && !state.scenarios.some((s) => s.id === state.scenarioChoice)) {
        state.scenarioChoice = "";
      }
      state.waiting = null;
      state.session = null;
      showLobby();
      if (state.seatLost) {
        view.error(state.seatLost);
        state.seatLost = null;
      }
      if (!quiet) sendInviteCodes();
      return;
    case "waiting":
      state.requeueAsks = Math.max(0, state.requeueAsks - (state.requeue ? 1 : 0));
      state.requeue = null;
      state.waiting = { kind: "queue", scenario: msg.scenario ?? null, botAvailable: false };
      if (screen === "lobby") view.update();
      return;
    case "bot_available":
      if (state.waiting?.kind === "queue") state.waiting.botAvailable = true;
      if (screen === "lobby") view.update();
      return;
    case "waiting_cancelled":
      state.waiting = null;
      if (screen === "lobby") view.update();
      return;
    case "pair_link":
      if (state.requeue?.kind === "link" && state.requeue.code !== msg.code && screen === "lobby") {
        view.error("Your connection dropped, so your private link was replaced: send this new one to your colleague.");
      }
      state.requeueAsks = Math.max(0, state.requeueAsks - (state.requeue ? 1 : 0));
      state.requeue = null;
      state.waiting = {
        kind: "link",
        code: msg.code,
        url: window.location.origin + msg.path,
        scenario: msg.scenario ?? null,
      };
      if (screen === "lobby") view.update();
      return;
    case "session_joined":
      state.session = { title: msg.title, code: msg.code };
      state.name = msg.name;
      state.waiting = null;
      // While a view is rebuilt, the room and the workshop answer separately: a round
      // already on screen stays there.
      if (state.rebuild && state.rebuild.gotView && inRoomScreen()) return;
      gotView();
      state.afterRound = false;
      state.joinRefused = null;
      showLobby();
      return;
    case "join_refused":
      // Back to the name screen with the workshop code kept, saying what to change.
      state.joinCode = msg.code;
      state.joinRefused = sentence(msg.reason);
      state.session = null;
      window.history.replaceState(null, "", `${window.location.pathname}?join=${encodeURIComponent(msg.code)}`);
      conn.leave();
      showName();
      return;
    case "broadcast":
      // An old notice from the trainer is not news after a reload.
      if (!quiet) showBroadcast(msg.text);
      return;
    case "renamed":
      state.name = msg.name;
      view?.rename?.(msg.name);
      notify(`Your trainer changed your name to ${msg.name}.`, "info");
      return;
    case "removed":
      state.session = null;
      state.afterRound = false;
      state.roomId = null;
      showLobby();
      notify("Your trainer removed you from the workshop. You can still practise here.", "info");
      return;
    case "observing":
      clearBroadcast();
      gotView();
      state.roomId = msg.room;
      state.roomSeq = msg.seq ?? 0;
      state.role = "observer";
      state.phase = "briefing";
      state.partnerPresent = false;
      show("observer", observerView({ observing: msg, send }));
      if (state.hand) view.handle(state.hand);
      return;
    case "room_opened":
      gotView();
      state.roomId = msg.room;
      state.roomSeq = msg.seq ?? 0;
      state.waiting = null;
      state.requeue = null;
      state.requeueAsks = 0;
      state.leaving = false;
      state.role = msg.role;
      state.phase = "briefing";
      state.partnerPresent = true;
      clearBroadcast();
      show("room", roomView({ opened: msg, send, onLeave: leaveRoom, inWorkshop: Boolean(state.session) }));
      if (state.drafts?.room === msg.room) view.restoreDrafts(state.drafts.fields);
      if (state.hand) view.handle(state.hand);
      return;
    case "phase":
      if (msg.phase !== state.phase) clearBroadcast();
      state.phase = msg.phase;
      updateTitle();
      if (screen === "room" || screen === "observer") view.handle(msg);
      return;
    case "debrief":
      gotView();
      state.hand = null;
      if (screen !== "debrief") {
        clearBroadcast();
        show("debrief", debriefView({
          role: state.role,
          send,
          onAgain: leaveRoom,
          againLabel: state.session ? "Back to the workshop" : "Play another round",
        }));
      }
      view.render(msg);
      return;
    case "partner_left":
      state.partnerPresent = false;
      if (screen === "debrief") view.partnerLeft(msg.name);
      else if (screen === "room" || screen === "observer") view.handle(msg);
      return;
    case "error":
      if (msg.code === "reconnect_failed") {
        seatLost();
        return;
      }
      if (!quiet) onError(msg);
      return;
    case "hand":
      // Kept so a room drawn after it (a rebuilt view) still shows the raised hand.
      state.hand = msg.raised ? msg : null;
      if (screen === "room" || screen === "observer") view.handle(msg);
      return;
    case "partner_away":
    case "partner_back":
      if (screen === "room") view.handle(msg);
      return;
    case "server_closing":
      // The socket closes next; the banner says the server is restarting.
      return;
    default:
      if (screen === "room" || screen === "observer") view.handle(msg);
  }
}

/** The server no longer holds this seat: start again as a new participant, in the
 * lobby, and say why. */
function seatLost() {
  state.waiting = null;
  state.session = null;
  state.role = null;
  state.roomId = null;
  state.drafts = null;
  const name = state.name || rememberedName();
  if (!name) {
    showName();
    return;
  }
  state.name = name;
  state.seatLost = "Your place could not be kept (you were away too long, or the server was reset), so you are back in the lobby.";
  conn.hello(name);
}

function onError(msg) {
  const text = sentence(msg.message);
  if (state.requeueAsks > 0 && msg.code === "wrong_state") {
    // Still waiting from before the drop: nothing was lost.
    state.requeueAsks -= 1;
    if (state.requeue) state.waiting = state.requeue;
    state.requeue = null;
    if (screen === "lobby") view.update();
    return;
  }
  if (state.leaving && msg.code === "wrong_state") return;
  if (screen === "name") {
    view.failed(text);
    conn.close();
    return;
  }
  if (screen === "lobby") {
    view.error(text);
    return;
  }
  if (screen === "room" || screen === "observer") view.handle(msg);
  toast(text);
}

// A reload keeps the seat (ws.js keeps the resume token for this tab), so there is no
// "leave this page?" prompt; typed text is kept too.
window.addEventListener("pagehide", () => {
  const drafts = currentDrafts();
  try {
    if (drafts) sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(drafts));
  } catch {
    // Storage refused: the drafts are lost, the seat is not.
  }
});

if (conn.hasSeat || conn.adoptParkedSeat()) {
  showResuming();
  resumeFromStart();
} else {
  showName();
}
