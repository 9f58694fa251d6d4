// Words and small helpers the console's panels share: member statuses, live flags,
// signed changes and scenario titles.

import { h } from "../dom.js";

export const STATUS_LABEL = {
  lobby: "In the lobby",
  selling: "Selling",
  buying: "Buying",
  observing: "Observing",
};

/** Each flag has an icon and a word, so none relies on colour alone. */
export const FLAG_INFO = {
  pitched_before_pain: { icon: "!", label: "Pitched before the deeper story", level: "note" },
  long_monologue: { icon: "…", label: "Long monologue", level: "note" },
  stuck: { icon: "⚠", label: "Stuck", level: "alert" },
  disconnected: { icon: "✕", label: "Disconnected", level: "alert" },
};

export const CHANNEL_LABEL = { chat: "Chat", spoken: "Spoken aloud" };

/** "+12", "−5", "±0" for a change in percentage points. */
export function signed(n) {
  if (n > 0) return `+${n}`;
  if (n < 0) return `−${Math.abs(n)}`;
  return "±0";
}

/** A change from the previous round as an arrow, a signed number and words. */
export function changeBadge(n, unit = " pts") {
  if (n === null || n === undefined) return null;
  const dir = n > 0 ? "up" : n < 0 ? "down" : "same";
  const arrow = n > 0 ? "▲" : n < 0 ? "▼" : "■";
  return h("span", { class: `change change-${dir}`, title: "Change from the previous round" },
    h("span", { "aria-hidden": "true" }, arrow, " "), `${signed(n)}${unit}`);
}

/** The scenario's title, or its id when the list does not know it. */
export function scenarioTitle(scenarios, id) {
  return scenarios.find((s) => s.id === id)?.title ?? id;
}

/** Clamps a percentage for a bar width. */
export function pct(n) {
  return Math.max(0, Math.min(100, Number(n) || 0));
}

/** A horizontal bar with a text alternative. */
export function bar(percent, label, cls = "") {
  const p = pct(percent);
  return h("div", {
    class: ["bar", cls], role: "meter", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(p),
  }, h("div", { class: "bar-fill", style: { width: `${p}%` } }));
}
