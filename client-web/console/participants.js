// The lobby as the trainer sees it: everyone who joined, whether they are connected, what
// they are doing and how often they have sold, bought and observed. Each can be renamed
// in place or removed (after a confirmation in the row, never a browser dialog).
// `namesWall` is the projector version: just the names, filling in as people arrive.

import { h, replace } from "../dom.js";
import { MAX_NAME_CHARS } from "../views/name.js";
import { STATUS_LABEL } from "./labels.js";

/**
 * @param {object} ctx
 * @param {(msg: object) => boolean} ctx.send
 */
export function participantsPanel(ctx) {
  let members = [];
  /** The row being renamed: { id, value } — kept across live updates. */
  let editing = null;
  /** The row asking "remove?". */
  let confirming = null;

  const count = h("p", { class: "muted", id: "people-count" });
  const list = h("ul", { class: "people", id: "people" });
  const el = h("section", { class: "card people-panel", "aria-labelledby": "people-h" },
    h("div", { class: "card-head" }, h("h2", { id: "people-h" }, "Participants"), count),
    list);

  function row(m) {
    const dot = h("span", { class: ["dot", m.connected ? "dot-on" : "dot-off"], title: m.connected ? "Connected" : "Not connected" },
      h("span", { class: "sr-only" }, m.connected ? "Connected" : "Not connected"));
    const counts = h("span", { class: "person-counts" },
      `Sold ${m.rounds_sold} · Bought ${m.rounds_bought} · Observed ${m.rounds_observed}`);
    const status = h("span", { class: ["chip", "status-chip", `status-${m.status}`] }, STATUS_LABEL[m.status] ?? m.status);

    let nameCell;
    let actions;
    if (editing?.id === m.id) {
      const input = h("input", {
        type: "text", class: "rename-input", value: editing.value, maxLength: MAX_NAME_CHARS,
        "aria-label": `New name for ${m.name}`,
      });
      input.addEventListener("input", () => { editing.value = input.value; });
      const form = h("form", { class: "inline-form rename-form" }, input,
        h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save"),
        h("button", { type: "button", class: "btn btn-small", on: { click: () => { editing = null; render(); } } }, "Cancel"));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const name = input.value.trim();
        if (!name || name === m.name) {
          editing = null;
          render();
          return;
        }
        if (ctx.send({ type: "rename", participant: m.id, name })) {
          editing = null;
          render();
        }
      });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Escape") { editing = null; render(); }
      });
      nameCell = form;
      actions = null;
      queueMicrotask(() => { if (document.activeElement !== input) { input.focus(); } });
    } else {
      nameCell = h("span", { class: "person-name" }, m.name);
      actions = confirming === m.id
        ? h("span", { class: "person-actions confirm" },
          h("span", { class: "confirm-text" }, `Remove ${m.name}?`),
          h("button", {
            type: "button", class: "btn btn-danger btn-small", dataset: { action: "remove-confirm" },
            on: { click: () => { confirming = null; ctx.send({ type: "remove", participant: m.id }); render(); } },
          }, "Remove"),
          h("button", { type: "button", class: "btn btn-small", on: { click: () => { confirming = null; render(); } } }, "Keep"))
        : h("span", { class: "person-actions" },
          h("button", {
            type: "button", class: "btn btn-small", dataset: { action: "rename" }, "aria-label": `Rename ${m.name}`,
            on: { click: () => { editing = { id: m.id, value: m.name }; confirming = null; render(); } },
          }, "Rename"),
          h("button", {
            type: "button", class: "btn btn-small", dataset: { action: "remove" }, "aria-label": `Remove ${m.name}`,
            on: { click: () => { confirming = m.id; editing = null; render(); } },
          }, "Remove"));
    }
    return h("li", { class: ["person", m.connected ? "" : "is-offline"], dataset: { id: m.id } },
      dot, nameCell, status, counts, actions);
  }

  function render() {
    if (editing && !members.some((m) => m.id === editing.id)) editing = null;
    if (confirming !== null && !members.some((m) => m.id === confirming)) confirming = null;
    const online = members.filter((m) => m.connected).length;
    count.textContent = members.length
      ? `${members.length} joined, ${online} connected`
      : "Nobody has joined yet.";
    replace(list, members.map(row));
  }

  render();
  return {
    el,
    update(next) {
      const same = JSON.stringify(next) === JSON.stringify(members);
      members = next;
      if (!same) render();
    },
  };
}

/** Refused joins, in words: who tried, and what they were told to change. */
export function failedJoinsList(failed, id) {
  if (!failed?.length) return null;
  return h("ul", { class: "failed-joins", id, "aria-label": "Could not join" },
    failed.slice().reverse().map((f) => h("li", {},
      h("strong", {}, `“${f.name}” could not join: `), f.reason)));
}

/** Names as they arrive, big enough for a projector, and who could not get in. */
export function namesWall() {
  const heading = h("h2", { id: "wall-h" }, "Who's here");
  const list = h("ul", { class: "names-wall", id: "names-wall" });
  const failedArea = h("div", { class: "failed-area" });
  const el = h("section", { class: "card wall-panel", "aria-labelledby": "wall-h" }, heading, list, failedArea);
  let last = "";
  let lastFailed = "";
  return {
    el,
    update(members, failed = []) {
      const failedKey = JSON.stringify(failed);
      if (failedKey !== lastFailed) {
        lastFailed = failedKey;
        replace(failedArea, failedJoinsList(failed, "failed-joins"));
      }
      const key = JSON.stringify(members.map((m) => [m.id, m.name, m.connected]));
      if (key === last) return;
      last = key;
      heading.textContent = members.length ? `Who's here (${members.length})` : "Who's here";
      replace(list, members.length
        ? members.map((m) => h("li", { class: ["name-tile", m.connected ? "" : "is-offline"] },
          m.name, m.connected ? null : h("span", { class: "sr-only" }, " (not connected)")))
        : h("li", { class: "muted wall-empty" }, "Names appear here as people join."));
    },
  };
}
