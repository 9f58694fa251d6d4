// The live view of a running round: a card per pair with names, roles, phase, time left
// (counted down here from the server's `remaining_ms`, frozen while paused), messages so
// far, the uncovered share as a bar, and flags as they happen. A stuck or disconnected
// pair gets a coloured frame, an icon and a sentence saying what is wrong. Controls act
// on one pair or on all; the broadcast box sends a short message to everyone.

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

  const summary = h("p", { class: "live-summary", id: "live-summary", role: "status" });
  const grid = h("div", { class: "live-grid", id: "live-grid" });
  const doneNote = h("div", { class: "callout done-note", id: "round-done", hidden: true },
    h("span", {}, "Every pair has finished this round. "),
    h("button", { type: "button", class: "btn btn-primary", on: { click: () => ctx.showResults() } }, "Show the room debrief"));

  // ---- controls for every pair ----
  let confirmTimer = null;
  const endAll = h("button", { type: "button", class: "btn btn-danger-outline", id: "end-all" }, "End phase for all");
  endAll.addEventListener("click", () => {
    if (confirmTimer === null) {
      endAll.textContent = "Click again to end the phase for every pair";
      endAll.classList.add("is-confirming");
      confirmTimer = setTimeout(resetEndAll, CONFIRM_MS);
      return;
    }
    resetEndAll();
    ctx.send({ type: "end_phase" });
  });
  function resetEndAll() {
    clearTimeout(confirmTimer);
    confirmTimer = null;
    endAll.textContent = "End phase for all";
    endAll.classList.remove("is-confirming");
  }
  const controls = h("div", { class: "global-controls", role: "group", "aria-label": "Every pair" },
    h("button", { type: "button", class: "btn", id: "pause-all", on: { click: () => ctx.send({ type: "pause" }) } }, "Pause all"),
    h("button", { type: "button", class: "btn", id: "resume-all", on: { click: () => ctx.send({ type: "resume" }) } }, "Resume all"),
    h("button", { type: "button", class: "btn", id: "extend-all", on: { click: () => ctx.send({ type: "extend", seconds: EXTEND_SECS }) } }, "+1 min all"),
    endAll);

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
  const el = h("section", { class: "live-panel", id: "live-panel", "aria-labelledby": "live-h" },
    h("div", { class: "live-head" },
      h("h2", { id: "live-h" }, "Live"), summary, controls),
    doneNote, empty, grid,
    h("section", { class: "card broadcast-card" }, bform));

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
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "end" }, on: { click: () => ctx.send({ type: "end_phase", room: c.room }) } }, "End phase")));
    return card;
  }

  function render() {
    const list = [...cards.values()].map((x) => x.card).sort((a, b) => a.room - b.room);
    empty.hidden = list.length > 0 || round > 0;
    replace(grid, list.map(renderCard));
    const done = list.filter((c) => c.phase === "debrief").length;
    const alerts = list.filter((c) => c.phase !== "debrief" && alertText(c)).length;
    summary.textContent = list.length
      ? [`Round ${round}`, `${list.length} ${list.length === 1 ? "pair" : "pairs"}`,
        alerts ? `${alerts} need${alerts === 1 ? "s" : ""} attention` : null,
        done ? `${done} finished` : null].filter(Boolean).join(" · ")
      : round > 0 ? `Round ${round} is starting…` : "";
    doneNote.hidden = !(list.length && done === list.length);
    controls.hidden = !list.length || done === list.length;
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
    /** Whether any pair of the current round is still playing. */
    get playing() {
      return [...cards.values()].some((x) => x.card.phase !== "debrief");
    },
  };
}
