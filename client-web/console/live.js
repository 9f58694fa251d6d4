// The live view of a running round: a card per pair with names, roles, phase, time left
// (counted down here from the server's `remaining_ms`, frozen while paused, and redrawn
// the moment the server reports an extension, a pause or a resume), messages so far, the
// uncovered share as a bar, and flags as they happen. A stuck or disconnected pair gets a
// coloured frame, an icon and a sentence saying what is wrong; a pair that raised a hand
// says who called and since when, with an "Answered" button. Controls act on one pair or
// on all, and name what they do: "End conversations" moves every talking pair to its
// recap, "End round" sends every pair to its debrief. The broadcast box sends a short
// message to everyone.

import { h, replace } from "../dom.js";
import { charCount, clock, countdown, PHASE_LABEL } from "../format.js";
import { bar, CHANNEL_LABEL, FLAG_INFO, scenarioTitle } from "./labels.js";

/** Timers redraw this often; a quarter second keeps the seconds digit honest. */
const TICK_MS = 250;
/** Under this much time left a timer turns to a warning colour. */
const WARN_MS = 60_000;
/** "+1 min" adds this many seconds. */
const EXTEND_SECS = 60;
/** Must match MAX_BROADCAST_CHARS in server/src/workshop.rs. */
export const MAX_BROADCAST_CHARS = 280;
/** How long "end the phase for every pair" waits for its confirming second click. */
const CONFIRM_MS = 5000;
/** The console keeps this many sent broadcasts on screen. */
const BROADCASTS_SHOWN = 3;

/**
 * @param {object} ctx
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => object[]} ctx.scenarios
 * @param {() => void} ctx.showResults switch to the room debrief
 */
export function livePanel(ctx) {
  /** room id → { card, at } where `at` is when the card arrived (performance.now()). */
  const cards = new Map();
  let round = 0;
  /** The header's raised-hands button, if the console has one. */
  let badge = null;

  const summary = h("p", { class: "live-summary", id: "live-summary", role: "status" });
  const grid = h("div", { class: "live-grid", id: "live-grid" });
  const doneNote = h("div", { class: "callout done-note", id: "round-done", hidden: true },
    h("span", {}, "Every pair has finished this round. "),
    h("button", { type: "button", class: "btn btn-primary", on: { click: () => ctx.showResults() } }, "Show the room debrief"));

  // ---- controls for every pair ----
  /** A button that asks for a second click within CONFIRM_MS before it acts. */
  function confirmButton(id, label, confirmLabel, act) {
    let timer = null;
    const b = h("button", { type: "button", class: "btn btn-danger-outline", id }, label);
    const reset = () => {
      clearTimeout(timer);
      timer = null;
      b.textContent = label;
      b.classList.remove("is-confirming");
    };
    b.addEventListener("click", () => {
      if (timer === null) {
        b.textContent = confirmLabel;
        b.classList.add("is-confirming");
        timer = setTimeout(reset, CONFIRM_MS);
        return;
      }
      reset();
      act();
    });
    return b;
  }
  const endConversations = confirmButton("end-conversations", "End conversations",
    "Click again: every talking pair goes to its recap", () => {
      for (const { card } of cards.values()) {
        if (card.phase === "conversation") ctx.send({ type: "end_phase", room: card.room });
      }
    });
  const endRound = confirmButton("end-round", "End round",
    "Click again: every pair goes to its debrief now", () => ctx.send({ type: "end_round" }));
  const controls = h("div", { class: "global-controls", role: "group", "aria-label": "Every pair" },
    h("button", { type: "button", class: "btn", id: "pause-all", on: { click: () => ctx.send({ type: "pause" }) } }, "Pause all"),
    h("button", { type: "button", class: "btn", id: "resume-all", on: { click: () => ctx.send({ type: "resume" }) } }, "Resume all"),
    h("button", { type: "button", class: "btn", id: "extend-all", on: { click: () => ctx.send({ type: "extend", seconds: EXTEND_SECS }) } }, "+1 min all"),
    endConversations, endRound);

  // ---- broadcast ----
  const input = h("input", {
    type: "text", id: "broadcast-input", maxLength: MAX_BROADCAST_CHARS, autocomplete: "off",
    placeholder: "e.g. Two minutes left: time to ask what else is on their mind", "aria-label": "Message to everyone",
  });
  const counter = h("span", { class: "counter", id: "broadcast-counter" }, `0 / ${MAX_BROADCAST_CHARS}`);
  const sentList = h("ul", { class: "sent-broadcasts", id: "sent-broadcasts" });
  const bform = h("form", { class: "broadcast-form", id: "broadcast-form" },
    h("label", { for: "broadcast-input", class: "field-label" }, "Message everyone"),
    h("div", { class: "inline-form" }, input, h("button", { type: "submit", class: "btn btn-primary", id: "broadcast-send" }, "Send")),
    counter, sentList);
  input.addEventListener("input", () => {
    const n = charCount(input.value);
    counter.textContent = `${n} / ${MAX_BROADCAST_CHARS}`;
    counter.classList.toggle("is-near", n > MAX_BROADCAST_CHARS * 0.9);
  });
  bform.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || charCount(text) > MAX_BROADCAST_CHARS) return;
    if (ctx.send({ type: "broadcast", text })) {
      input.value = "";
      input.dispatchEvent(new Event("input"));
    }
  });

  const empty = h("p", { class: "muted live-empty" }, "No round is being played. Pair people and start a round from “Lobby & pairs”.");
  const hands = h("ul", { class: "hands-list", id: "hands-list", "aria-label": "Raised hands", hidden: true });
  const el = h("section", { class: "live-panel", id: "live-panel", "aria-labelledby": "live-h" },
    h("div", { class: "live-head" },
      h("h2", { id: "live-h" }, "Live"), summary, controls),
    hands, doneNote, empty, grid,
    h("section", { class: "card broadcast-card" }, bform));

  /** The wall-clock time something happened `msAgo` milliseconds ago, as "14:05". */
  function since(msAgo) {
    return new Date(Date.now() - (msAgo ?? 0)).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

    function flagChip(flag) {
    const f = FLAG_INFO[flag] ?? { icon: "•", label: flag, level: "note" };
    return h("li", { class: ["flag", `flag-${f.level}`], dataset: { flag } },
      h("span", { class: "flag-icon", "aria-hidden": "true" }, f.icon), f.label);
  }

  /** What is wrong with a pair, in a sentence; null when nothing is. */
  function alertText(c) {
    const gone = [];
    if (!c.seller_connected) gone.push(c.seller);
    if (!c.bot_buyer && !c.buyer_connected) gone.push(c.buyer);
    if (c.flags.includes("disconnected") || gone.length) {
      return { icon: "✕", text: gone.length ? `Disconnected: ${gone.join(" and ")}` : "Disconnected" };
    }
    if (c.flags.includes("stuck")) return { icon: "⚠", text: `Stuck: nothing said for ${clock(c.idle_ms)}` };
    return null;
  }

  function renderCard(c) {
    const done = c.phase === "debrief";
    const alert = done ? null : alertText(c);
    const timer = h("span", { class: "live-timer", dataset: { room: String(c.room) } });
    // Stuck and disconnected are said in the banner at the top of the card.
    const notes = c.flags.filter((f) => (FLAG_INFO[f]?.level ?? "note") === "note");
    const card = h("article", {
      class: ["live-card", alert ? "is-alert" : "", c.paused ? "is-paused" : "", done ? "is-done" : ""],
      dataset: { room: String(c.room), phase: c.phase },
      "aria-label": `${c.seller} selling to ${c.buyer}`,
    },
    alert ? h("p", { class: "live-alert", role: "status" }, h("span", { class: "alert-icon", "aria-hidden": "true" }, alert.icon, " "), alert.text) : null,
    c.hand ? h("div", { class: "live-hand", role: "status" },
      h("span", { class: "hand-tag" }, "Hand up"),
      h("span", { class: "hand-text" }, `${c.hand.by} is asking for you (since ${since(c.hand.raised_ms_ago)})`),
      h("button", {
        type: "button", class: "btn btn-small btn-primary", dataset: { action: "answer-hand" },
        on: { click: () => ctx.send({ type: "answer_hand", room: c.room }) },
      }, "Answered")) : null,
    h("header", { class: "live-names" },
      h("span", { class: "who who-seller" }, h("span", { class: "role-tag" }, "Seller"), h("strong", {}, c.seller),
        c.seller_connected ? null : h("span", { class: "offline-tag" }, " (offline)")),
      h("span", { class: "who who-buyer" }, h("span", { class: "role-tag" }, c.bot_buyer ? "Bot buyer" : "Buyer"), h("strong", {}, c.buyer),
        c.bot_buyer || c.buyer_connected ? null : h("span", { class: "offline-tag" }, " (offline)"))),
    h("p", { class: "live-meta muted" },
      scenarioTitle(ctx.scenarios(), c.scenario), " · ", CHANNEL_LABEL[c.channel] ?? c.channel,
      c.observers.length ? ` · observed by ${c.observers.join(", ")}` : ""),
    h("div", { class: "live-phase" },
      h("span", { class: "phase-label" }, done ? "Finished" : PHASE_LABEL[c.phase] ?? c.phase),
      done ? null : timer,
      c.paused && !done ? h("span", { class: "paused-tag" }, "‖ Paused") : null),
    h("div", { class: "live-figures" },
      h("span", {}, h("strong", { class: "messages" }, String(c.messages)), c.messages === 1 ? " message" : " messages"),
      h("span", {}, h("strong", {}, `${c.facts_uncovered}/${c.facts_total}`), " facts")),
    h("div", { class: "live-uncovered" },
      h("span", { class: "uncovered-label" }, "Uncovered ", h("strong", { class: "uncovered-pct" }, `${c.uncovered_percent}%`)),
      bar(c.uncovered_percent, "Uncovered so far", "bar-uncovered")),
    notes.length ? h("ul", { class: "flags" }, notes.map(flagChip)) : null,
    done ? null : h("div", { class: "card-controls", role: "group", "aria-label": `Controls for ${c.seller} and ${c.buyer}` },
      c.paused
        ? h("button", { type: "button", class: "btn btn-small", dataset: { action: "resume" }, on: { click: () => ctx.send({ type: "resume", room: c.room }) } }, "Resume")
        : h("button", { type: "button", class: "btn btn-small", dataset: { action: "pause" }, on: { click: () => ctx.send({ type: "pause", room: c.room }) } }, "Pause"),
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "extend" }, on: { click: () => ctx.send({ type: "extend", room: c.room, seconds: EXTEND_SECS }) } }, "+1 min"),
      c.phase === "recap" ? null
        : h("button", { type: "button", class: "btn btn-small", dataset: { action: "end" }, on: { click: () => ctx.send({ type: "end_phase", room: c.room }) } },
          c.phase === "briefing" ? "Start the conversation" : "End conversation"),
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "end-round" }, on: { click: () => ctx.send({ type: "end_round", room: c.room }) } }, "End round")));
    return card;
  }

  function render() {
    const list = [...cards.values()].map((x) => x.card).sort((a, b) => a.room - b.room);
    empty.hidden = list.length > 0 || round > 0;
    replace(grid, list.map(renderCard));
    const done = list.filter((c) => c.phase === "debrief").length;
    const alerts = list.filter((c) => c.phase !== "debrief" && alertText(c)).length;
    const up = list.filter((c) => c.hand && c.phase !== "debrief");
    summary.textContent = list.length
      ? [`Round ${round}`, `${list.length} ${list.length === 1 ? "pair" : "pairs"}`,
        alerts ? `${alerts} need${alerts === 1 ? "s" : ""} attention` : null,
        up.length ? `${up.length} ${up.length === 1 ? "hand" : "hands"} up` : null,
        done ? `${done} finished` : null].filter(Boolean).join(" · ")
      : round > 0 ? `Round ${round} is starting…` : "";
    doneNote.hidden = !(list.length && done === list.length);
    controls.hidden = !list.length || done === list.length;
    endConversations.disabled = !list.some((c) => c.phase === "conversation");
    hands.hidden = up.length === 0;
    replace(hands, up.map((c) => h("li", { class: "hand-row" },
      h("span", { class: "hand-tag" }, "Hand up"), " ",
      `${c.hand.by} is asking for you (${c.seller} selling to ${c.buyer})`)));
    if (badge) {
      badge.hidden = up.length === 0;
      badge.textContent = `${up.length} ${up.length === 1 ? "hand" : "hands"} up`;
    }
    tick();
  }

  function tick() {
    const now = performance.now();
    for (const t of grid.querySelectorAll(".live-timer")) {
      const entry = cards.get(Number(t.dataset.room));
      if (!entry) continue;
      const c = entry.card;
      if (c.remaining_ms === null || c.remaining_ms === undefined) {
        t.textContent = "–:––";
        continue;
      }
      const left = c.paused ? c.remaining_ms : c.remaining_ms - (now - entry.at);
      t.textContent = countdown(left);
      t.classList.toggle("is-warn", !c.paused && left < WARN_MS);
    }
  }
  setInterval(tick, TICK_MS);
  render();

  return {
    el,
    /** The whole set of cards for the current round (from `console`). */
    reset(list, currentRound) {
      round = currentRound;
      cards.clear();
      const at = performance.now();
      for (const c of list) cards.set(c.room, { card: c, at });
      render();
    },
    /** One card changed (`live`). Cards of an earlier round are ignored. */
    update(c) {
      if (c.round < round) return;
      round = c.round;
      cards.set(c.room, { card: c, at: performance.now() });
      render();
    },
    /** The server echoed a broadcast: list it under the box. */
    broadcastSent(text) {
      sentList.prepend(h("li", {}, h("span", { class: "muted" }, `Sent ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: `), text));
      while (sentList.children.length > BROADCASTS_SHOWN) sentList.lastElementChild.remove();
    },
    /** The header's "✋ N hands up" button, kept current from here. */
    setHandsBadge(b) {
      badge = b;
      render();
    },
    /** Whether any pair of the current round is still playing. */
    get playing() {
      return [...cards.values()].some((x) => x.card.phase !== "debrief");
    },
  };
}
