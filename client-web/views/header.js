// The header of a round, shared by players and observers: a role badge, the scenario
// title, who is in the room, the four phases with the current one marked, and the
// countdown. The countdown follows the server's clock: each `phase` message's
// `remaining_ms` counts down from the moment it arrived.

import { h } from "../dom.js";
import { countdown, PHASES, PHASE_LABEL } from "../format.js";

/** The countdown redraws this often; a quarter second keeps the seconds digit honest. */
const TICK_MS = 250;
/** Under this much time left the timer turns to a warning colour. */
const WARN_MS = 60_000;

/**
 * @param {object} ctx
 * @param {string} ctx.badge the badge's class suffix: "seller", "buyer" or "observer"
 * @param {string} ctx.badgeText
 * @param {string} ctx.title the scenario title
 * @param {Node|string} ctx.subtitle who else is here
 */
export function roundHeader(ctx) {
  let deadline = null;
  /** Milliseconds left while the trainer has stopped the clock; null while it runs. */
  let paused = null;

  const timer = h("div", { class: "timer", id: "timer", role: "timer", "aria-live": "off" }, "–:––");
  const steps = PHASES.map((p) => h("li", { class: "step", dataset: { phase: p } }, PHASE_LABEL[p]));
  const el = h("header", { class: "room-head" },
    h("div", { class: "room-id" },
      h("span", { class: `role-badge role-${ctx.badge}`, id: "role-badge", dataset: { role: ctx.badge } }, ctx.badgeText),
      h("div", { class: "room-titles" },
        h("h1", { class: "room-scenario", id: "scenario-title" }, ctx.title),
        h("p", { class: "room-partner" }, ctx.subtitle))),
    h("div", { class: "room-status" },
      h("ol", { class: "phase-steps", id: "phase-steps", "aria-label": "Phases" }, steps),
      timer));

  function tick() {
    timer.classList.toggle("is-paused", paused !== null);
    if (paused !== null) {
      timer.textContent = `${countdown(paused)} paused`;
      timer.classList.remove("is-warn");
      return;
    }
    if (deadline === null) {
      timer.textContent = "–:––";
      timer.classList.remove("is-warn");
      return;
    }
    const left = deadline - performance.now();
    timer.textContent = countdown(left);
    timer.classList.toggle("is-warn", left < WARN_MS);
  }
  const interval = setInterval(tick, TICK_MS);

  return {
    el,
    /** Marks `phase` current and restarts the countdown from a `phase` message. */
    setPhase(phase, msg = {}) {
      const now = PHASES.indexOf(phase);
      for (const s of steps) {
        const i = PHASES.indexOf(s.dataset.phase);
        s.classList.toggle("done", i < now);
        s.classList.toggle("current", i === now);
        if (i === now) s.setAttribute("aria-current", "step");
        else s.removeAttribute("aria-current");
      }
      const remaining = msg.remaining_ms ?? null;
      paused = msg.paused === true ? remaining : null;
      deadline = remaining === null || paused !== null ? null : performance.now() + remaining;
      tick();
    },
    destroy() {
      clearInterval(interval);
    },
  };
}
