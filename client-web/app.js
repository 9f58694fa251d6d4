// The trainee page: connects, then moves between the name screen, the lobby, the room
// and the debrief as server messages arrive. Each screen is a view object with an `el`;
// this module owns the connection and the few facts that outlive a screen.

import { byId, h, replace } from "./dom.js";
import { ROLE_LABEL, PHASE_LABEL } from "./format.js";
import { toast } from "./toast.js";
import { Connection } from "./ws.js";
import { debriefView } from "./debrief.js";
import { lobbyView } from "./views/lobby.js";
import { nameView } from "./views/name.js";
import { observerView } from "./views/observer.js";
import { roomView } from "./views/room.js";
import { sessionView } from "./views/session.js";

const params = new URLSearchParams(window.location.search);

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
};

const root = byId("app");
let screen = null;
let view = null;

const conn = new Connection({ onMessage, onStatus });

function show(kind, next) {
  view?.destroy?.();
  screen = kind;
  view = next;
  replace(root, next.el);
  window.scrollTo(0, 0);
  next.mounted?.();
  updateTitle();
}

function updateTitle() {
  const parts = ["Uncover"];
  if ((screen === "room" || screen === "observer") && state.role) {
    parts.push(ROLE_LABEL[state.role], PHASE_LABEL[state.phase] ?? "");
  }
  if (screen === "session" && state.session) parts.push(state.session.title);
  if (screen === "debrief") parts.push("Debrief");
  document.title = parts.filter(Boolean).join(" · ");
}

function send(msg) {
  const ok = conn.send(msg);
  if (!ok) toast("Not connected to the server. Use Reconnect at the top of the page.");
  return ok;
}

function sentence(text) {
  const t = String(text ?? "").trim();
  if (!t) return "Something went wrong.";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

// ---- screens ----

function showName() {
  show("name", nameView({
    invite: state.joinCode ? "workshop" : state.pairCode ? "pair" : null,
    onSubmit: (name) => {
      state.name = name;
      conn.open(name);
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
      conn.close();
      state.waiting = null;
      showName();
    },
  }));
}

function leaveRoom() {
  state.leaving = true;
  state.waiting = null;
  state.afterRound = true;
  // An observer sits in no room; there is nothing to leave.
  if (state.role !== "observer") conn.send({ type: "leave_room" });
  showLobby();
}

function showBroadcast(text) {
  const banner = byId("broadcast");
  replace(banner,
    h("span", { class: "broadcast-from" }, "From your trainer"),
    h("span", { class: "broadcast-text", id: "broadcast-text" }, text),
    h("button", {
      type: "button", class: "toast-close", "aria-label": "Dismiss",
      on: { click: () => { banner.hidden = true; } },
    }, "×"));
  banner.hidden = false;
}

// ---- connection ----

function onStatus(status, detail) {
  const banner = byId("conn-banner");
  if (status !== "closed") {
    banner.hidden = true;
    return;
  }
  if (screen === "name" || screen === null) {
    view?.failed?.(detail ? `${detail} Check the address and try again.` : "Could not reach the server.");
    return;
  }
  state.waiting = null;
  replace(banner,
    h("span", {}, detail ?? "The connection to the server was lost.",
      screen === "lobby" ? "" : " Your round could not be kept."),
    h("button", {
      type: "button", class: "btn btn-small", id: "reconnect",
      on: { click: () => conn.open(state.name) },
    }, "Reconnect"));
  banner.hidden = false;
}

function onMessage(msg) {
  switch (msg.type) {
    case "welcome":
      state.name = msg.name;
      state.scenarios = msg.scenarios ?? [];
      if (state.scenarioChoice && !state.scenarios.some((s) => s.id === state.scenarioChoice)) {
        state.scenarioChoice = "";
      }
      state.waiting = null;
      state.session = null;
      showLobby();
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
      return;
    case "waiting":
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
      state.afterRound = false;
      showLobby();
      return;
    case "broadcast":
      showBroadcast(msg.text);
      return;
    case "renamed":
      state.name = msg.name;
      view?.rename?.(msg.name);
      toast(`Your trainer changed your name to ${msg.name}.`, "info");
      return;
    case "removed":
      state.session = null;
      state.afterRound = false;
      showLobby();
      toast("Your trainer removed you from the workshop. You can still practise here.", "info");
      return;
    case "observing":
      state.role = "observer";
      state.phase = "briefing";
      state.partnerPresent = false;
      show("observer", observerView({ observing: msg, send }));
      return;
    case "room_opened":
      state.waiting = null;
      state.leaving = false;
      state.role = msg.role;
      state.phase = "briefing";
      state.partnerPresent = true;
      show("room", roomView({ opened: msg, send, onLeave: leaveRoom }));
      return;
    case "phase":
      state.phase = msg.phase;
      updateTitle();
      if (screen === "room" || screen === "observer") view.handle(msg);
      return;
    case "debrief":
      if (screen !== "debrief") {
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
      onError(msg);
      return;
    default:
      if (screen === "room" || screen === "observer") view.handle(msg);
  }
}

function onError(msg) {
  const text = sentence(msg.message);
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

window.addEventListener("beforeunload", (event) => {
  if (screen === "room" && state.partnerPresent) {
    event.preventDefault();
    event.returnValue = "";
  }
});

showName();
