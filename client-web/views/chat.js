// The chat panel: the transcript as it grows, and a composer limited to the server's
// 2,000 characters. Enter sends, Shift+Enter starts a new line.

import { h } from "../dom.js";
import { charCount, clock, ROLE_LABEL } from "../format.js";

/** Must match MAX_CHAT_CHARS in server/src/protocol.rs. */
export const MAX_CHAT_CHARS = 2000;
/** Within this many pixels of the bottom counts as "reading the latest", so new lines scroll into view. */
const STICKY_SCROLL_PX = 80;

/**
 * @param {object} ctx
 * @param {"seller"|"buyer"|"observer"} ctx.role
 * @param {string} ctx.partnerName
 * @param {{seller: string, buyer: string}} [ctx.names] an observer's names for both sides
 * @param {(text: string) => boolean} ctx.sendChat
 * @param {string|null} ctx.openingLine the buyer's suggested first line
 * @param {boolean} ctx.spoken the pair talks aloud; there is no typing
 */
export function chatPanel(ctx) {
  const lines = new Map();
  const log = h("ol", { class: "chat-log", id: "chat-log", "aria-live": "polite", "aria-label": "Conversation" });
  const empty = h("li", { class: "chat-empty" },
    ctx.role === "observer"
      ? (ctx.spoken
        ? "This round is spoken: listen to the pair. Their phases and the clock show here."
        : "The pair's conversation appears here as they type.")
      : ctx.spoken
      ? "This round is spoken: talk with your partner aloud, in the room or on a call. The app keeps the time, the briefs and the reveals."
      : ctx.role === "buyer"
        ? "You speak first: start with your opening line."
        : "Your buyer speaks first. Listen, then ask.");
  log.append(empty);

  const input = h("textarea", {
    id: "chat-input",
    rows: 2,
    maxLength: MAX_CHAT_CHARS,
    placeholder: "Type a message. Enter sends, Shift+Enter for a new line.",
    "aria-label": "Message",
  });
  const counter = h("span", { class: "counter", id: "chat-counter" }, `0 / ${MAX_CHAT_CHARS}`);
  const sendBtn = h("button", { type: "submit", class: "btn btn-primary", id: "chat-send" }, "Send");
  const openingBtn = ctx.openingLine
    ? h("button", {
      type: "button", class: "link-btn", id: "use-opening",
      on: { click: () => { input.value = ctx.openingLine; updateCounter(); input.focus(); } },
    }, "Use my opening line")
    : null;
  /** Lines sent but not yet echoed back by the server. If the connection drops first
   * they go back in the box rather than vanish: a dead socket can swallow a send. */
  const unconfirmed = [];
  /** What `connectionLost` put back in the box, while it is still untouched there. */
  let restored = null;
  const note = h("p", { class: "composer-note", id: "chat-note", role: "status", hidden: true });

  const form = h("form", { class: "composer", id: "composer" },
    input,
    note,
    h("div", { class: "composer-row" }, openingBtn, counter, sendBtn));

  function updateCounter() {
    const n = charCount(input.value);
    counter.textContent = `${n} / ${MAX_CHAT_CHARS}`;
    counter.classList.toggle("is-near", n > MAX_CHAT_CHARS * 0.9);
  }

  function setRestored(text) {
    restored = text;
    input.value = text ?? "";
    updateCounter();
    note.hidden = text === null;
    note.textContent = text === null ? ""
      : "The connection dropped before the server confirmed this. It is back in the box: send it again if it does not appear above once you are reconnected.";
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    if (charCount(text) > MAX_CHAT_CHARS) return;
    if (ctx.sendChat(text)) {
      unconfirmed.push(text);
      restored = null;
      note.hidden = true;
      input.value = "";
      updateCounter();
    }
  }

  input.addEventListener("input", updateCounter);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });

  const el = h("section", { class: "panel panel-chat", id: "panel-chat", "aria-label": "Chat" },
    h("div", { class: "panel-title-row" },
      h("h2", { class: "panel-title" }, ctx.spoken ? "Spoken conversation" : "Conversation")),
    log, form);

  return {
    el,
    lines,
    /** Adds a `chat` message from the server. */
    add(msg) {
      if (lines.has(msg.index)) return;
      lines.set(msg.index, msg);
      if (openingBtn && msg.from === "buyer") openingBtn.remove();
      const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < STICKY_SCROLL_PX;
      empty.remove();
      const mine = msg.from === ctx.role;
      const pending = mine ? unconfirmed.indexOf(msg.text.trim()) : -1;
      if (pending >= 0) {
        unconfirmed.splice(pending, 1);
        // It did arrive: take it back out of the box unless the user has changed the text.
        if (restored !== null && input.value === restored) setRestored(unconfirmed.length ? unconfirmed.join("\n") : null);
      }
      const other = ctx.names?.[msg.from] ?? ctx.partnerName;
      const who = mine ? `You (${ROLE_LABEL[msg.from]})` : `${other} (${ROLE_LABEL[msg.from]})`;
      log.append(h("li", { class: ["msg", `from-${msg.from}`, mine ? "mine" : "theirs"], dataset: { index: msg.index } },
        h("div", { class: "msg-meta" }, h("span", { class: "msg-who" }, who),
          h("time", { class: "msg-time" }, clock(msg.at_ms))),
        h("p", { class: "msg-text" }, msg.text)));
      if (nearBottom || mine) log.scrollTop = log.scrollHeight;
    },
    /** Whether the composer is usable (conversation phase only). */
    setOpen(open) {
      form.hidden = !open || ctx.spoken;
      input.disabled = !open;
      sendBtn.disabled = !open;
    },
    focus() {
      input.focus();
    },
    /** The connection dropped: lines not yet confirmed go back in an empty box. */
    connectionLost() {
      if (unconfirmed.length && !input.value.trim()) setRestored(unconfirmed.join("\n"));
    },
  };
}
