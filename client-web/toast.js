// Non-blocking notices: short messages stacked in a corner that fade on their own and
// can be dismissed. Used for server `error` events and connection trouble.

import { byId, h } from "./dom.js";

/** How long a notice stays: long enough to read two lines, short enough not to pile up. */
const TOAST_MS = 7000;
/** Older notices are dropped beyond this many, so a burst of errors cannot fill the screen. */
const MAX_TOASTS = 4;

/** Shows `text` as a notice. `kind` is "error", "info" or "ok". */
export function toast(text, kind = "error") {
  const area = byId("toasts");
  if (!area) return;
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-text" }, text), close);
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  area.append(item);
  while (area.children.length > MAX_TOASTS) area.firstElementChild.remove();
  setTimeout(remove, TOAST_MS);
}
