// The seller's private notes. Saved to the server about a second after typing stops,
// so a reload or a lost connection does not lose them.

import { h } from "../dom.js";
import { charCount } from "../format.js";

/** Must match MAX_NOTES_CHARS in server/src/protocol.rs. */
export const MAX_NOTES_CHARS = 8000;
/** Wait for a pause in typing before saving: one request per thought, not per key. */
const SAVE_DELAY_MS = 1000;

/** @param {{ send: (msg: object) => boolean }} ctx */
export function notesPanel(ctx) {
  const input = h("textarea", {
    id: "notes-input",
    rows: 8,
    maxLength: MAX_NOTES_CHARS,
    placeholder: "Jot down what you learn: their goals, problems, who decides, what worries them…",
    "aria-label": "Your private notes",
  });
  const status = h("span", { class: "save-status", id: "notes-status", role: "status" }, "Only you can see these.");
  const counter = h("span", { class: "counter" }, `0 / ${MAX_NOTES_CHARS}`);
  let timer = null;
  let lastSent = "";
  /** A save is on its way; only then can a refusal be about the notes. */
  let saving = false;

  function save() {
    clearTimeout(timer);
    timer = null;
    const text = input.value;
    if (text === lastSent) return;
    if (ctx.send({ type: "notes", text })) {
      lastSent = text;
      saving = true;
      status.textContent = "Saving…";
    } else {
      status.textContent = "Not saved: no connection.";
    }
  }

  input.addEventListener("input", () => {
    const n = charCount(input.value);
    counter.textContent = `${n} / ${MAX_NOTES_CHARS}`;
    status.textContent = "Editing…";
    clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  });
  input.addEventListener("blur", save);

  const el = h("section", { class: "panel panel-side panel-notes", id: "panel-notes", "aria-label": "Your notes" },
    h("h2", { class: "panel-title" }, "Your notes"),
    input,
    h("div", { class: "composer-row" }, status, counter));

  return {
    el,
    saved() {
      saving = false;
      status.textContent = input.value === lastSent ? "Saved" : "Editing…";
    },
    refused() {
      if (!saving) return;
      saving = false;
      lastSent = "";
      status.textContent = "Not saved.";
    },
    /** The server's copy after a rebuilt view; text typed here since wins. */
    restore(text) {
      if (input.value && input.value !== lastSent) return;
      input.value = text;
      lastSent = text;
      counter.textContent = `${charCount(text)} / ${MAX_NOTES_CHARS}`;
      status.textContent = "Saved";
    },
    flush: save,
    destroy() {
      clearTimeout(timer);
    },
  };
}
