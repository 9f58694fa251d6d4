// A workshop's waiting room for a trainee: the workshop's name and code, and a calm
// "your trainer will start the next round" until the server seats them in a room or
// asks them to observe one.

import { h } from "../dom.js";

/**
 * @param {object} ctx
 * @param {{title: string, code: string}} ctx.session
 * @param {string} ctx.name
 * @param {boolean} ctx.afterRound the trainee has just come back from a round
 */
export function sessionView(ctx) {
  const el = h("main", { class: "screen screen-narrow", id: "screen-session" },
    h("header", { class: "topbar" },
      h("span", { class: "brand brand-sm" }, "Uncover"),
      h("span", { class: "whoami" }, "You are ", h("strong", { id: "my-name" }, ctx.name))),
    h("section", { class: "card session-card" },
      h("p", { class: "eyebrow" }, "Workshop ", h("span", { class: "pair-code", id: "session-code" }, ctx.session.code)),
      h("h1", { class: "session-title", id: "session-title" }, ctx.session.title),
      h("p", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }),
        h("span", {}, ctx.afterRound
          ? "Round done. Your trainer will start the next one."
          : "You're in. Your trainer will start the round.")),
      h("p", { class: "hint" },
        "Keep this page open. Your role, your partner and your brief appear here as soon as the round starts.")));
  return {
    el,
    rename(name) {
      el.querySelector("#my-name").textContent = name;
    },
  };
}
