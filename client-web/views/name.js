// The first screen: who are you? The name is remembered on this device so the next
// round starts with one click.

import { h } from "../dom.js";

/** Must match MAX_NAME_CHARS in server/src/protocol.rs. */
export const MAX_NAME_CHARS = 40;
const NAME_KEY = "uncover.name";

export function rememberedName() {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Private browsing may refuse storage; the name is simply asked for again next time.
  }
}

/**
 * @param {object} opts
 * @param {(name: string) => void} opts.onSubmit
 * @param {"pair"|"workshop"|null} opts.invite what the address invited them to, if anything
 */
export function nameView({ onSubmit, invite, code = null, refused = null, elsewhere = null }) {
  const input = h("input", {
    id: "name-input",
    name: "name",
    type: "text",
    autocomplete: "nickname",
    maxLength: MAX_NAME_CHARS,
    required: true,
    value: rememberedName(),
    placeholder: "e.g. Sam",
  });
  const button = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "name-submit" }, "Continue");
  const status = h("p", { class: "form-status", role: "status" });
  const form = h("form", { class: "name-form", novalidate: true },
    h("label", { for: "name-input" }, "Your name"),
    h("div", { class: "inline-form" }, input, button),
    h("p", { class: "hint" }, "Your partner sees this name. No account needed."),
    status);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      status.textContent = "Please type a name first.";
      status.className = "form-status is-error";
      input.focus();
      return;
    }
    rememberName(name);
    button.disabled = true;
    status.className = "form-status";
    status.textContent = "Connecting…";
    onSubmit(name);
  });

  const el = h("main", { class: "screen screen-narrow", id: "screen-name" },
    h("div", { class: "hero" },
      h("h1", { class: "brand" }, "Uncover"),
      h("p", { class: "lead" },
        "Practise discovery: one of you sells, the other holds a hidden story. ",
        "Afterwards you both see how much of it came out, and why."),
      invite === "pair"
        ? h("p", { class: "callout" }, "A colleague invited you to practise together. Enter your name to join them.")
        : invite === "workshop"
          ? h("p", { class: "callout", id: "join-invite" }, "You are joining a workshop",
            code ? [" (code ", h("strong", { class: "pair-code", id: "join-code-kept" }, code), ")"] : "",
            ". Enter your name; your trainer will see it.")
          : null),
    refused ? h("p", { class: "alert", role: "alert", id: "join-refused" }, refused) : null,
    elsewhere ? h("p", { class: "callout callout-warn", id: "open-elsewhere", role: "status" },
      "Uncover is already open in another tab as ", h("strong", {}, elsewhere.name), ` (${elsewhere.where}). `,
      "Switch to that tab to carry on there, or enter a name here to join as someone else.") : null,
    h("section", { class: "card" }, form));

  return {
    el,
    mounted() {
      input.focus();
      input.select();
      if (refused) input.setAttribute("aria-describedby", "join-refused");
    },
    /** The connection failed or the server refused the name. */
    failed(message) {
      button.disabled = false;
      status.className = "form-status is-error";
      status.textContent = message;
    },
  };
}
