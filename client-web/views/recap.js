// The recap phase: the seller writes what they learned; the buyer says how heard they
// felt (1-5) with an optional comment. Each then waits for the other.

import { h, replace } from "../dom.js";
import { charCount } from "../format.js";

/** Must match MAX_RECAP_CHARS in server/src/protocol.rs. */
export const MAX_RECAP_CHARS = 4000;
/** Must match MAX_COMMENT_CHARS in server/src/protocol.rs. */
export const MAX_COMMENT_CHARS = 1000;

const HEARD_LABELS = ["Not at all", "A little", "Somewhat", "Mostly", "Completely"];

/** How long after the last keystroke a draft is sent: often enough that the phase
 * ending by time keeps nearly everything, rarely enough not to send every key. */
export const DRAFT_DELAY_MS = 800;

/** Calls `send` once typing has paused for DRAFT_DELAY_MS. */
function debounced(send) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(send, DRAFT_DELAY_MS);
  };
}

/**
 * @param {object} ctx
 * @param {"seller"|"buyer"} ctx.role
 * @param {string} ctx.partnerName
 * @param {(msg: object) => boolean} ctx.send
 */
export function recapPanel(ctx) {
  const body = h("div", { class: "recap-body" });
  let submitted = false;
  let partnerDone = false;
  let submitBtn = null;

  function sellerForm() {
    const input = h("textarea", {
      id: "recap-input",
      rows: 8,
      maxLength: MAX_RECAP_CHARS,
      placeholder: "Their situation, what they want to achieve, what it costs them, who decides, what worries them…",
      "aria-label": "Your recap",
    });
    const counter = h("span", { class: "counter" }, `0 / ${MAX_RECAP_CHARS}`);
    // Saved on the server as it is typed: if the phase ends first, the last draft is
    // the recap.
    const saveDraft = debounced(() => {
      if (!submitted && !submitBtn.disabled) ctx.send({ type: "recap_draft", text: input.value.trim() });
    });
    input.addEventListener("input", () => {
      counter.textContent = `${charCount(input.value)} / ${MAX_RECAP_CHARS}`;
      saveDraft();
    });
    submitBtn = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "recap-submit" }, "Submit recap");
    const form = h("form", { class: "recap-form" },
      h("h2", {}, "What did you learn?"),
      h("p", { class: "hint" },
        "Write back what you now understand about ", ctx.partnerName.replace(/ \(bot\)$/, ""),
        "'s situation, in your own words. The debrief checks it against the hidden story."),
      input,
      h("div", { class: "composer-row" }, counter, submitBtn));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) {
        input.focus();
        return;
      }
      if (ctx.send({ type: "recap", text })) submitBtn.disabled = true;
    });
    return form;
  }

  function buyerForm() {
    const scale = h("div", { class: "heard-scale", role: "radiogroup", "aria-label": "How heard did you feel?" });
    HEARD_LABELS.forEach((label, i) => {
      const value = i + 1;
      scale.append(h("label", { class: "heard-option" },
        h("input", { type: "radio", name: "heard", value: String(value), required: true }),
        h("span", { class: "heard-num" }, String(value)),
        h("span", { class: "heard-label" }, label)));
    });
    const comment = h("textarea", {
      id: "feedback-comment",
      rows: 3,
      maxLength: MAX_COMMENT_CHARS,
      placeholder: "Optional: what made you feel heard, or not?",
      "aria-label": "Comment",
    });
    const error = h("p", { class: "form-status is-error", hidden: true }, "Pick a number from 1 to 5.");
    // The rating and comment so far are saved as they change (once a rating is
    // picked): if the phase ends first, they are the feedback.
    const saveDraft = debounced(() => {
      const picked = scale.querySelector("input[name=heard]:checked");
      if (!submitted && !submitBtn.disabled && picked) {
        ctx.send({ type: "feedback_draft", heard: Number(picked.value), comment: comment.value.trim() });
      }
    });
    scale.addEventListener("change", saveDraft);
    comment.addEventListener("input", saveDraft);
    submitBtn = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "feedback-submit" }, "Send feedback");
    const form = h("form", { class: "feedback-form", novalidate: true },
      h("h2", {}, "How heard did you feel?"),
      h("p", { class: "hint" }, "1 means not at all, 5 means completely. ", ctx.partnerName, " sees your answer in the debrief."),
      scale, error,
      h("label", { for: "feedback-comment", class: "field-label" }, "Comment (optional)"),
      comment,
      h("div", { class: "composer-row" }, submitBtn));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = form.querySelector("input[name=heard]:checked");
      if (!picked) {
        error.hidden = false;
        return;
      }
      error.hidden = true;
      if (ctx.send({ type: "feedback", heard: Number(picked.value), comment: comment.value.trim() })) {
        submitBtn.disabled = true;
      }
    });
    return form;
  }

  function renderWaiting() {
    const what = ctx.role === "seller" ? "Recap sent." : "Feedback sent.";
    const other = ctx.role === "seller" ? "their feedback" : "the recap";
    const wasInside = el.contains(document.activeElement) || document.activeElement === document.body;
    replace(body, h("div", { class: "submitted", id: "recap-submitted", tabIndex: -1 },
      h("p", { class: "submitted-title" }, what),
      partnerDone
        ? h("p", {}, "Preparing the debrief…")
        : h("p", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }),
          h("span", {}, `Waiting for ${ctx.partnerName} to send ${other}…`))));
    // The form is gone: focus stays with what the page now says, not on <body>.
    if (wasInside) body.querySelector("#recap-submitted")?.focus();
  }

  const partnerNote = h("p", { class: "callout", hidden: true, id: "partner-submitted" });
  replace(body, ctx.role === "seller" ? sellerForm() : buyerForm());

  const el = h("section", { class: "panel panel-recap", id: "panel-recap", "aria-label": "Recap" }, partnerNote, body);

  return {
    el,
    /** `partner_submitted`: the server names the role that submitted, which may be ours. */
    submitted(role) {
      if (role === ctx.role) {
        submitted = true;
      } else {
        partnerDone = true;
        partnerNote.hidden = false;
        partnerNote.textContent = ctx.role === "seller"
          ? `${ctx.partnerName} has sent their feedback.`
          : `${ctx.partnerName} has sent their recap.`;
      }
      if (submitted) {
        partnerNote.hidden = true;
        renderWaiting();
      }
    },
    refused() {
      if (!submitted && submitBtn) submitBtn.disabled = false;
    },
    /** Focus the first thing to fill in. */
    focus() {
      body.querySelector("#recap-input, input[name=heard]")?.focus();
    },
  };
}
