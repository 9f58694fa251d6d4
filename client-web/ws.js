// The websocket connection to the server. It introduces the page (`hello`, or
// `reconnect` with a kept resume token), numbers what it has seen by `seq` and drops
// repeats, and when the connection drops it reconnects by itself with growing waits
// until it is back, unless the user chose to leave.
//
// The seat (resume token, highest `seq` seen, name) is kept in sessionStorage, which
// belongs to one tab and survives a reload: a phone that reloads keeps its seat, while
// two tabs of one browser stay two people (a demo often plays both roles that way).
// When a tab closes mid-round its seat is also parked in localStorage for a few
// minutes, so reopening Uncover in a new tab can take it back; see `adoptParkedSeat`.

/** Must match PROTOCOL_VERSION in server/src/protocol.rs. */
export const PROTOCOL_VERSION = 1;

/** First wait before reconnecting: short, because most drops are a blip. */
const RETRY_FIRST_MS = 500;
/** Longest wait between attempts: a trainee should never wait long once the network is back. */
const RETRY_MAX_MS = 10_000;
/** After `server_closing`, the first attempt waits this long: a restart takes a moment. */
const RETRY_AFTER_RESTART_MS = 1_000;
/** A socket still not open after this long is abandoned and tried again: a half-dead
 * network can leave a WebSocket "connecting" for minutes. */
const CONNECT_TIMEOUT_MS = 8_000;
/** The server closes an old connection with this code when the seat moves to a newer one. */
const CLOSE_REPLACED = 4000;
/** A parked seat older than this is not adopted: the server holds seats for two minutes
 * by default, and a much older one would only fail. */
const PARKED_SEAT_MAX_AGE_MS = 10 * 60_000;
/** localStorage key for a seat left behind by a closed tab. */
const PARKED_KEY_SUFFIX = ".parked";

/** The websocket address for the page's own server, over TLS when the page is. */
export function socketUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}

/** The wait before reconnect attempt `n` (0-based): doubling, capped, with jitter so a
 * room full of phones does not come back in the same instant after a restart. */
function retryDelay(n, first = RETRY_FIRST_MS) {
  const full = Math.min(RETRY_MAX_MS, first * 2 ** Math.min(n, 16));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

function readJson(storage, key) {
  try {
    const raw = storage?.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function writeJson(storage, key, value) {
  try {
    if (value === null) storage?.removeItem(key);
    else storage?.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode may refuse storage: reconnecting still works until the page reloads.
  }
}

function sessionStore() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function localStore() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export class Connection {
  /**
   * @param {object} handlers
   * @param {(msg: object, meta: {replaying: boolean}) => void} handlers.onMessage a server
   *   message; `replaying` when this tab had already shown it before a reload (see
   *   `resume({ fromStart })`), so it rebuilds the screen but is not news
   * @param {(status: string, detail?: object) => void} handlers.onStatus
   *   "connecting" (first attempt), "online" (introduced or seat taken back),
   *   "reconnecting" ({ reason, attempt, retryInMs }), "replaced" (the seat was taken
   *   by another tab), or "closed" ({ reason }: no seat to go back to)
   * @param {string} [handlers.seatKey] where the seat is kept; pages with different
   *   seats (trainee page, trainer's console) use different keys
   * @param {() => boolean} [handlers.parkWhen] when this tab closes, leave its seat for
   *   a new tab if this says the seat is worth keeping (see `adoptParkedSeat`)
   */
  constructor({ onMessage, onStatus, seatKey = "uncover.seat", parkWhen = null }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.seatKey = seatKey;
    this.socket = null;
    this.lastSeq = 0;
    this.status = "closed";
    /** { token, seq, name, notes } once the server has given a resume token. */
    this.seat = readJson(sessionStore(), seatKey);
    /** The name to say hello with when there is no seat. */
    this.name = "";
    /** A `reconnect` was sent and its answer has not come yet. */
    this.resuming = false;
    /** Frames up to this `seq` were shown by this tab before it reloaded. */
    this.seenBefore = 0;
    /** A resume from the first message is under way (retries keep asking for it). */
    this.fromStart = false;
    /** The socket has been introduced (welcome or reconnected arrived). */
    this.introduced = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.connectTimer = null;
    this.afterRestart = false;
    /** The user chose to leave: no reconnecting until they start again. */
    this.stopped = true;

    window.addEventListener("offline", () => this.networkLost());
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      // A phone waking up: timers were throttled while it slept, so try at once.
      if (document.visibilityState === "visible" && this.retryTimer !== null) this.retryNow();
    });
    if (parkWhen) {
      window.addEventListener("pagehide", () => {
        if (parkWhen()) this.park();
      });
      window.addEventListener("pageshow", () => this.unpark());
    }
  }

  /** True when a resume token is kept for this tab. */
  get hasSeat() {
    return Boolean(this.seat?.token);
  }

  /** Says hello as `name` with no seat: a new participant. Any kept seat is forgotten.
   * On a socket that is open but not introduced (a refused `reconnect`), it is reused. */
  hello(name) {
    this.name = name;
    this.forgetSeat();
    this.stopped = false;
    if (this.socket && this.socket.readyState === WebSocket.OPEN && !this.introduced) {
      this.lastSeq = 0;
      this.sendRaw({ type: "hello", protocol: PROTOCOL_VERSION, name });
      return;
    }
    this.lastSeq = 0;
    this.seenBefore = 0;
    this.fromStart = false;
    this.connect();
  }

  /** Takes the kept seat back on a new connection. `fromStart` asks for everything
   * from the first message (a reloaded page has no view left); otherwise only what
   * came after the last message seen. False if there is no seat to take back. */
  resume({ fromStart = false } = {}) {
    if (!this.hasSeat) return false;
    this.stopped = false;
    if (fromStart && !this.fromStart) {
      this.fromStart = true;
      this.seenBefore = this.seat.seq ?? 0;
    }
    // A retry of a resume from the start asks from the start again: the page still has
    // no view to add the missed messages to.
    this.lastSeq = this.fromStart ? 0 : this.seat.seq ?? 0;
    if (!this.fromStart) this.seenBefore = 0;
    this.connect();
    return true;
  }

  /** The user chose to leave (changed their name, left the workshop page): close for
   * good and forget the seat. */
  leave() {
    this.stopped = true;
    this.fromStart = false;
    this.clearTimers();
    this.forgetSeat();
    this.closeSocket(1000, "leaving");
    this.introduced = false;
    this.resuming = false;
  }

  /** Skips the current wait and tries to reconnect now (the "Try now" button, the
   * network coming back, a phone waking up). */
  retryNow() {
    if (this.stopped || !this.hasSeat) return;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    this.attempt = 0;
    this.clearTimers();
    this.resume();
  }

  /** A small note kept with the seat (e.g. where the user left a room). */
  note(key) {
    return this.seat?.notes?.[key];
  }

  setNote(key, value) {
    if (!this.seat) return;
    this.seat.notes = { ...this.seat.notes, [key]: value };
    this.saveSeat();
  }

  // ---- sending ----

  /** Sends a client message; false when the connection is not open and introduced. */
  send(msg) {
    if (!this.introduced) return false;
    return this.sendRaw(msg);
  }

  sendRaw(msg) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  // ---- the socket ----

  connect() {
    this.clearTimers();
    this.closeSocket(1000, "reconnecting");
    this.introduced = false;
    this.resuming = false;
    if (this.status !== "reconnecting") this.setStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (err) {
      this.dropped(`Could not open a connection: ${err.message}`);
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      if (this.socket === socket && socket.readyState === WebSocket.CONNECTING) {
        this.socket = null;
        socket.close();
        this.dropped("The server did not answer.");
      }
    }, CONNECT_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      if (this.hasSeat) {
        this.resuming = true;
        this.sendRaw({
          type: "reconnect",
          protocol: PROTOCOL_VERSION,
          token: this.seat.token,
          last_seq: this.lastSeq,
        });
      } else {
        this.sendRaw({ type: "hello", protocol: PROTOCOL_VERSION, name: this.name });
      }
    });
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.connectTimer);
      if (event.code === 1008 && event.reason === "no hello in time" && !this.hasSeat) {
        // A socket left open while the page waits for a name (after a refused
        // `reconnect`) is closed by the server after 10 s; `hello` opens a new one.
        this.introduced = false;
        return;
      }
      if (event.code === CLOSE_REPLACED) {
        this.introduced = false;
        this.stopped = true;
        this.setStatus("replaced", { reason: "Uncover was opened for you in another tab or window." });
        return;
      }
      this.dropped(closeReason(event));
    });
  }

  /** The connection ended without the user asking: retry if there is a seat to go back to. */
  dropped(reason) {
    this.introduced = false;
    this.resuming = false;
    if (this.stopped) return;
    if (!this.hasSeat) {
      this.stopped = true;
      this.setStatus("closed", { reason });
      return;
    }
    const first = this.afterRestart ? RETRY_AFTER_RESTART_MS : RETRY_FIRST_MS;
    this.afterRestart = false;
    const wait = retryDelay(this.attempt, first);
    this.attempt += 1;
    this.clearTimers();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.resume();
    }, wait);
    this.setStatus("reconnecting", { reason, attempt: this.attempt, retryInMs: wait });
  }

  /** The browser says the network is gone: a WebSocket may not notice for minutes, so
   * close it now and say so; the `online` event brings it back. */
  networkLost() {
    if (this.stopped || !this.socket) return;
    const socket = this.socket;
    this.socket = null;
    clearTimeout(this.connectTimer);
    socket.close(1000, "offline");
    this.dropped("This device went offline.");
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      console.warn("Ignoring a frame that is not JSON", data);
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (this.resuming && frame.type === "error"
      && (frame.code === "reconnect_failed" || !(frame.seq > Math.max(this.lastSeq, 1)))) {
      // A refused `reconnect`. The server numbers the messages of a connection that has
      // not introduced itself from 1, so this one is new even though its `seq` is low
      // (a participant's own first message is always `welcome`, never an error).
      this.refusedResume(frame);
      return;
    }
    if (typeof frame.seq === "number") {
      // Frames are numbered per participant; anything at or below the last one seen
      // is a repeat (for example after a resumed connection) and is already shown.
      if (frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
      if (this.seat) {
        this.seat.seq = frame.seq;
        this.saveSeat();
      }
    }
    const replaying = typeof frame.seq === "number" && frame.seq <= this.seenBefore;
    switch (frame.type) {
      case "welcome":
        this.seat = { token: frame.resume_token, seq: this.lastSeq, name: frame.name, notes: {} };
        this.saveSeat();
        this.online();
        break;
      case "reconnected":
        this.resuming = false;
        this.fromStart = false;
        // Without a replay the server may number from 1 again: nothing after is old.
        if (!frame.replayed) this.seenBefore = 0;
        if (this.seat) {
          this.seat.name = frame.name;
          this.saveSeat();
        }
        this.online();
        break;
      case "server_closing":
        this.afterRestart = true;
        break;
      default:
    }
    this.onMessage(frame, { replaying });
  }

  /** The server refused to give the seat back. */
  refusedResume(frame) {
    this.resuming = false;
    if (frame.code === "reconnect_failed") {
      // The seat is gone (released, or unknown to this server): the page decides
      // whether to say hello again on this same socket.
      this.forgetSeat();
      this.onMessage(frame, { replaying: false });
      return;
    }
    if (frame.code === "unsupported_protocol") {
      this.stopped = true;
      this.closeSocket(1000, "unsupported protocol");
      this.setStatus("closed", { reason: frame.message });
      return;
    }
    // Too many attempts from this network, or the server could not answer: try again
    // after the usual wait.
    this.closeSocket(1000, "retrying");
    this.dropped(frame.message ?? "The server could not take the seat back yet.");
  }

  online() {
    this.introduced = true;
    this.attempt = 0;
    this.setStatus("online");
  }

  // ---- the kept seat ----

  saveSeat() {
    writeJson(sessionStore(), this.seatKey, this.seat);
  }

  forgetSeat() {
    this.seat = null;
    writeJson(sessionStore(), this.seatKey, null);
  }

  /** The tab is going away (closed, reloaded or put in the back-forward cache): leave
   * the seat where a new tab can find it. A reload takes it back from sessionStorage
   * and clears this copy in `unpark`. */
  park() {
    if (!this.hasSeat || this.stopped) return;
    writeJson(localStore(), this.seatKey + PARKED_KEY_SUFFIX, { ...this.seat, parkedAt: Date.now() });
  }

  unpark() {
    const parked = readJson(localStore(), this.seatKey + PARKED_KEY_SUFFIX);
    if (parked && parked.token === this.seat?.token) writeJson(localStore(), this.seatKey + PARKED_KEY_SUFFIX, null);
  }

  /** In a new tab with no seat of its own: takes a seat parked by a tab closed a short
   * while ago, so closing Uncover by mistake mid-round costs nothing. True if taken. */
  adoptParkedSeat() {
    if (this.hasSeat) return false;
    const key = this.seatKey + PARKED_KEY_SUFFIX;
    const parked = readJson(localStore(), key);
    writeJson(localStore(), key, null);
    if (!parked?.token || !(Date.now() - (parked.parkedAt ?? 0) < PARKED_SEAT_MAX_AGE_MS)) return false;
    const { parkedAt: _, ...seat } = parked;
    this.seat = seat;
    this.saveSeat();
    return true;
  }

  // ---- housekeeping ----

  clearTimers() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    this.retryTimer = null;
    this.connectTimer = null;
  }

  closeSocket(code, reason) {
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(code, reason);
  }

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }
}

function closeReason(event) {
  if (event.code === 1012) return "The server is restarting.";
  if (event.reason) return `The server closed the connection: ${event.reason}.`;
  if (event.code === 1006) return "The connection to the server was lost.";
  return "The connection to the server closed.";
}
