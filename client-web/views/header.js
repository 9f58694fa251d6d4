// The header of a round, shared by players and observers: a role badge, the scenario
// title, who is in the room, the four phases with the current one marked, and the
// countdown. The countdown follows the server's clock: each `phase` message's
// `remaining_ms` counts down from the moment it arrived.

import { h } from "../dom.js";
import { phaseCountdown } from "../countdown.js";
import { PHASES, PHASE_LABEL } from "../format.js";

/**
 * @param {object} ctx
 * @param {string} ctx.badge the badge's class suffix: "seller", "buyer" or "observer"
 * @param {string} ctx.badgeText
 * @param {string} ctx.title the scenario title
 * @param {Node|string} ctx.subtitle who else is here
 */
export function roundHeader(ctx) {
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

  const clock = phaseCountdown(timer);

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
      clock.set(msg);
    },
    destroy() {
      clock.destroy();
    },
  };
}
