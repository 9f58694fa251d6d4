// The websocket connection to the server: says hello, decodes numbered frames, drops
// any frame it has already seen (by `seq`), and reports its status to the page.

/** Must match PROTOCOL_VERSION in server/src/protocol.rs. */
export const PROTOCOL_VERSION = 1;

/** The websocket address for the page's own server, over TLS when the page is. */
export function socketUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}

export class Connection {
  /**
   * @param {object} handlers
   * @param {(msg: object) => void} handlers.onMessage a decoded server message
   * @param {(status: string, detail?: string) => void} handlers.onStatus
   *   "connecting", "open", or "closed" (with a reason a person can read)
   */
  constructor({ onMessage, onStatus }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.socket = null;
    this.lastSeq = 0;
    this.status = "closed";
  }

  /** Opens a fresh connection and introduces `name`. Any previous one is closed. */
  open(name) {
    this.close();
    this.lastSeq = 0;
    this.setStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (err) {
      this.setStatus("closed", `Could not open a connection: ${err.message}`);
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      this.setStatus("open");
      this.send({ type: "hello", protocol: PROTOCOL_VERSION, name });
    });
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setStatus("closed", closeReason(event));
    });
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
    if (typeof frame.seq === "number") {
      // Frames are numbered per participant; anything at or below the last one seen
      // is a repeat (for example after a resumed connection) and is already shown.
      if (frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
    }
    this.onMessage(frame);
  }

  /** Sends a client message; false when there is no open connection to send it on. */
  send(msg) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "closing");
  }

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }
}

function closeReason(event) {
  if (event.reason) return `The server closed the connection: ${event.reason}.`;
  if (event.code === 1006) return "The connection to the server was lost.";
  return "The connection to the server closed.";
}
