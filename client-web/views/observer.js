// The observer's screen in a workshop round: whose conversation this is, the scenario, the
// pair's chat as it happens (or a reminder to listen when the round is spoken), the
// clock, the scenario's observer checklist to tick off (kept on this device only), and a
// box for notes that the pair will see in their debrief. The observer never sees the
// hidden story before the debrief; the debrief itself is shown by the debrief module.

import { h, replace } from "../dom.js";
import { phaseCountdown } from "../countdown.js";
import { charCount, clock, PHASES, PHASE_LABEL } from "../format.js";

/** Must match MAX_NOTES_CHARS in server/src/protocol.rs (observer notes share it). */
export const MAX_OBSERVER_NOTE_CHARS = 8000;
/** Within this many pixels of the bottom counts as "reading the latest". */
const STICKY_SCROLL_PX = 80;

/**
 * @param {object} ctx
 * @param {object} ctx.observing the `observing` message
 * @param {(msg: object) => boolean} ctx.send
 */
export function observerView(ctx) {
  const o = ctx.observing;
  const spoken = o.channel === "spoken";
  const names = { seller: o.seller, buyer: o.buyer };
  let phase = "briefing";
  /** Notes sent and not yet acknowledged, oldest first. */
  const pending = [];

  // ---- header ----
  const timer = h("div", { class: "timer", id: "timer", role: "timer", "aria-live": "off" }, "–:––");
  const steps = PHASES.map((p) => h("li", { class: "step", dataset: { phase: p } }, PHASE_LABEL[p]));
  const header = h("header", { class: "room-head" },
    h("div", { class: "room-id" },
      h("span", { class: "role-badge role-observer", id: "role-badge", dataset: { role: "observer" } }, "Observer"),
      h("div", { class: "room-titles" },
        h("h1", { class: "room-scenario", id: "scenario-title" }, o.scenario.title),
        h("p", { class: "room-partner", id: "observed-pair" },
          "Watching ", h("strong", {}, o.seller), " (seller) with ", h("strong", {}, o.buyer), " (buyer)"))),
    h("div", { class: "room-status" },
      h("ol", { class: "phase-steps", id: "phase-steps", "aria-label": "Phases" }, steps),
      timer));
  const notices = h("div", { class: "notices", id: "room-notices" });

  // ---- the conversation ----
  const log = h("ol", { class: "chat-log", id: "chat-log", "aria-live": "polite", "aria-label": "Conversation" });
  const empty = h("li", { class: "chat-empty" }, spoken
    ? `This round is spoken: listen to ${o.seller} and ${o.buyer} in the room. The clock, the checklist and your notes work as usual.`
    : `The pair is reading their briefs. Their conversation shows here as it happens; ${o.buyer} speaks first.`);
  log.append(empty);
  const seen = new Set();
  const chat = h("section", { class: "panel panel-chat", id: "panel-chat", "aria-label": "The pair's conversation" },
    h("div", { class: "panel-title-row" }, h("h2", { class: "panel-title" }, spoken ? "Spoken conversation" : "Their conversation")),
    log);

  // ---- scenario and checklist ----
  const scenario = h("section", { class: "panel", id: "panel-scenario" },
    h("h2", { class: "panel-title" }, "The scenario"),
    h("p", { class: "prose" }, o.scenario.summary),
    h("p", { class: "hint" }, "You see what the seller sees. The buyer's hidden story is revealed to everyone in the debrief."));
  const checks = (o.checklist ?? []).map((item) => h("li", { class: "check-item" },
    h("label", {}, h("input", { type: "checkbox" }), " ", item)));
  const checklist = h("section", { class: "panel", id: "panel-checklist" },
    h("h2", { class: "panel-title" }, "What to watch for"),
    checks.length
      ? h("ul", { class: "checklist", id: "observer-checklist" }, checks)
      : h("p", { class: "muted" }, "Watch how the seller asks, listens and sums up."),
    h("p", { class: "hint" }, "Ticks stay on this screen only."));

  // ---- notes for the pair ----
  const input = h("textarea", {
    id: "observer-note-input", rows: 4, maxLength: MAX_OBSERVER_NOTE_CHARS,
    placeholder: "What did you notice? Quote a question that worked, or one that closed things down.",
    "aria-label": "A note for the pair's debrief",
  });
  const counter = h("span", { class: "counter" }, `0 / ${MAX_OBSERVER_NOTE_CHARS}`);
  const sendBtn = h("button", { type: "submit", class: "btn btn-primary", id: "observer-note-add" }, "Add note");
  const sentList = h("ul", { class: "observer-notes", id: "observer-notes" });
  const status = h("span", { class: "save-status", id: "observer-note-status", role: "status" }, "The pair sees your notes in their debrief.");
  const form = h("form", { class: "composer observer-note-form", id: "observer-note-form" },
    input, h("div", { class: "composer-row" }, status, counter, sendBtn));
  input.addEventListener("input", () => {
    const n = charCount(input.value);
    counter.textContent = `${n} / ${MAX_OBSERVER_NOTE_CHARS}`;
    counter.classList.toggle("is-near", n > MAX_OBSERVER_NOTE_CHARS * 0.9);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || charCount(text) > MAX_OBSERVER_NOTE_CHARS) return;
    if (!ctx.send({ type: "observer_note", text })) {
      status.textContent = "Not sent: no connection.";
      return;
    }
    const item = h("li", { class: "observer-note is-pending" }, h("span", { class: "prose" }, text), " ",
      h("span", { class: "muted note-state" }, "(sending…)"));
    pending.push(item);
    sentList.append(item);
    input.value = "";
    input.dispatchEvent(new Event("input"));
    status.textContent = "Sending…";
  });
  const notesPanel = h("section", { class: "panel", id: "panel-observer-notes" },
    h("h2", { class: "panel-title" }, "Notes for the pair"), sentList, form);

  // The trainer's pause and the observer's own call for the trainer, as in a player's room.
  const pausedBanner = h("div", { class: "paused-banner", id: "paused-banner", role: "status", hidden: true },
    h("strong", {}, "‖ Paused by your trainer."), " The clock is stopped until they resume the round.");
  let handUp = false;
  const handBtn = h("button", {
    type: "button", class: "btn btn-small hand-btn", id: "raise-hand", "aria-pressed": "false",
    on: { click: () => ctx.send({ type: handUp ? "lower_hand" : "raise_hand" }) },
  }, "Call the trainer");
  const handNote = h("span", { class: "hand-note", id: "hand-note", role: "status" });

  const el = h("main", { class: "room observer-room", id: "room", dataset: { phase, role: "observer" } },
    header, pausedBanner, notices, h("div", { class: "hand-row-room" }, handBtn, handNote),
    h("div", { class: "room-body" },
      h("div", { class: "col col-main" }, chat),
      h("div", { class: "col col-side" }, checklist, notesPanel, scenario)));

  function layout() {
    el.dataset.phase = phase;
    steps.forEach((s) => {
      const i = PHASES.indexOf(s.dataset.phase);
      const now = PHASES.indexOf(phase);
      s.classList.toggle("done", i < now);
      s.classList.toggle("current", i === now);
      if (i === now) s.setAttribute("aria-current", "step");
      else s.removeAttribute("aria-current");
    });
    if (!spoken && phase !== "briefing" && !seen.size) {
      empty.textContent = phase === "conversation" ? "Nothing said yet." : "Nothing was said.";
    }
  }

  const countdownClock = phaseCountdown(timer);
  layout();

  function addLine(msg) {
    if (seen.has(msg.index)) return;
    seen.add(msg.index);
    empty.remove();
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < STICKY_SCROLL_PX;
    log.append(h("li", { class: ["msg", `from-${msg.from}`, msg.from === "seller" ? "mine" : "theirs"], dataset: { index: msg.index } },
      h("div", { class: "msg-meta" },
        h("span", { class: "msg-who" }, `${names[msg.from] ?? msg.from} (${msg.from === "seller" ? "Seller" : "Buyer"})`),
        h("time", { class: "msg-time" }, clock(msg.at_ms))),
      h("p", { class: "msg-text" }, msg.text)));
    if (nearBottom) log.scrollTop = log.scrollHeight;
  }

  return {
    el,
    /** Handles a server message meant for this screen; false if it is not one. */
    handle(msg) {
      switch (msg.type) {
        case "phase":
          phase = msg.phase;
          pausedBanner.hidden = !(msg.paused && phase !== "debrief");
          layout();
          countdownClock.set(msg);
          return true;
        case "hand":
          handUp = Boolean(msg.raised);
          handBtn.textContent = handUp ? "Cancel the call" : "Call the trainer";
          handBtn.setAttribute("aria-pressed", String(handUp));
          handNote.textContent = handUp ? `${msg.by ?? "Someone"} called the trainer; they will come over.` : "";
          return true;
        case "chat":
          addLine(msg);
          return true;
        case "notes_saved": {
          const item = pending.shift();
          if (item) {
            item.classList.remove("is-pending");
            replace(item.querySelector(".note-state"), "(added to the debrief)");
          }
          status.textContent = "Note added. The pair sees it in their debrief.";
          return true;
        }
        case "partner_left":
          notices.append(h("div", { class: "notice notice-warn", role: "status" }, `${msg.name} left the room.`));
          return true;
        case "error": {
          const item = pending.shift();
          if (item) {
            item.classList.add("is-refused");
            replace(item.querySelector(".note-state"), "(not added)");
          }
          return false;
        }
        default:
          return false;
      }
    },
    destroy() {
      countdownClock.destroy();
    },
  };
}
