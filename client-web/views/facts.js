// The buyer's fact cards: the hidden story, with guidance on when each fact is earned.
// The buyer marks a fact revealed as they say it, and can undo a mistaken mark. A card
// whose prerequisite facts are not all revealed yet is shown locked.
// `quickEl` is a compact "Mark a fact revealed" list for the conversation itself, so a
// buyer on a phone marks a fact without leaving the chat.

import { h, replace } from "../dom.js";
import { clock, DEPTH_LABEL, KIND_LABEL, slugWords, weightDots } from "../format.js";

/**
 * @param {object} ctx
 * @param {Array<object>} ctx.facts the buyer brief's fact cards
 * @param {(msg: object) => boolean} ctx.send
 * @param {(index: number) => object|undefined} ctx.line a chat line by transcript index
 */
export function factsPanel(ctx) {
  const revealed = new Map();
  const pending = new Set();
  let phase = "briefing";
  const cards = new Map();
  const summary = h("p", { class: "facts-summary", id: "facts-summary" });
  const list = h("div", { class: "fact-list" });

  for (const fact of ctx.facts) {
    const footer = h("div", { class: "fact-footer" });
    const card = h("article", {
      class: ["fact-card", `kind-${fact.kind}`],
      dataset: { fact: fact.id, state: "available" },
    },
      h("div", { class: "fact-head" },
        h("span", { class: `chip kind kind-${fact.kind}` }, KIND_LABEL[fact.kind] ?? fact.kind),
        h("span", { class: "chip depth" }, DEPTH_LABEL[fact.depth] ?? fact.depth),
        h("span", { class: "weight", title: `Weight ${fact.weight} of 3`, "aria-label": `Weight ${fact.weight} of 3` },
          weightDots(fact.weight))),
      h("p", { class: "fact-text" }, fact.text),
      h("p", { class: "fact-earned" }, h("strong", {}, "Earned when: "), fact.earned_when),
      footer);
    card.tabIndex = -1;
    cards.set(fact.id, { card, footer });
    list.append(card);
  }

  function locked(fact) {
    return fact.requires.some((r) => !revealed.has(r));
  }

  function dependents(id) {
    return ctx.facts.filter((f) => f.requires.includes(id) && revealed.has(f.id));
  }

  function renderCard(fact) {
    const { card, footer } = cards.get(fact.id);
    const rev = revealed.get(fact.id);
    const isLocked = !rev && locked(fact);
    card.dataset.state = rev ? "revealed" : isLocked ? "locked" : "available";
    const canAct = phase === "conversation" && !pending.has(fact.id);
    if (rev) {
      const earned = rev.earned_by === null || rev.earned_by === undefined ? null : ctx.line(rev.earned_by);
      const blockers = dependents(fact.id);
      replace(footer,
        h("div", { class: "fact-status" },
          h("span", { class: "status-badge status-revealed" }, `Revealed at ${clock(rev.at_ms)}`),
          earned ? h("span", { class: "fact-after" }, "after “", earned.text, "”") : null),
        phase === "conversation"
          ? h("button", {
            type: "button", class: "btn btn-small", disabled: !canAct || blockers.length > 0,
            title: blockers.length ? `Undo ${blockers.map((b) => slugWords(b.id)).join(", ")} first` : "Undo this mark",
            dataset: { action: "unreveal" },
            on: { click: () => act({ type: "unreveal", fact: fact.id }) },
          }, "Undo")
          : null);
    } else if (isLocked) {
      const missing = fact.requires.filter((r) => !revealed.has(r)).map(slugWords);
      replace(footer,
        h("span", { class: "status-badge status-locked" }, "Locked"),
        h("span", { class: "fact-after" }, "Comes out only after: ", missing.join(", ")));
    } else {
      replace(footer,
        h("button", {
          type: "button", class: "btn btn-primary btn-small", disabled: !canAct,
          dataset: { action: "reveal" },
          on: { click: () => act({ type: "reveal", fact: fact.id }) },
        }, "Mark revealed"),
        phase === "briefing" ? h("span", { class: "fact-after" }, "You can mark facts once the conversation starts.") : null);
    }
  }

  const quickList = h("ul", { class: "quick-list" });
  const quickSummary = h("summary", { class: "quick-summary" });
  const quickEl = h("details", { class: "quick-facts", id: "quick-facts" }, quickSummary, quickList);

  function renderQuick() {
    const open = ctx.facts.filter((f) => !revealed.has(f.id) && !locked(f));
    quickSummary.textContent = `Mark a fact revealed (${revealed.size} of ${ctx.facts.length} so far)`;
    replace(quickList, open.length
      ? open.map((f) => h("li", {},
        h("button", {
          type: "button", class: "quick-fact", dataset: { fact: f.id, action: "quick-reveal" },
          disabled: phase !== "conversation" || pending.has(f.id),
          on: { click: () => act({ type: "reveal", fact: f.id }) },
        }, h("span", { class: "quick-kind" }, KIND_LABEL[f.kind] ?? f.kind), " ", f.text)))
      : h("li", { class: "muted" }, "Nothing left to mark yet."));
    quickEl.hidden = phase !== "conversation";
  }

  function renderAll() {
    for (const fact of ctx.facts) renderCard(fact);
    const total = ctx.facts.length;
    summary.textContent = `${revealed.size} of ${total} revealed`;
    renderQuick();
  }

  /** After a mark, focus goes to what comes next: the next fact to mark, or the chat. */
  let refocus = null;
  function act(msg) {
    if (!ctx.send(msg)) return;
    const active = document.activeElement;
    refocus = active && (quickEl.contains(active) ? "quick" : list.contains(active) ? "cards" : null);
    pending.add(msg.fact);
    renderAll();
  }

  function restoreFocus(fact) {
    const where = refocus;
    refocus = null;
    if (where === "quick") {
      const next = quickList.querySelector("button:not(:disabled)");
      (next ?? ctx.afterMark?.() ?? quickSummary).focus();
    } else if (where === "cards") {
      const card = cards.get(fact)?.card;
      (card?.querySelector("button:not(:disabled)") ?? card)?.focus();
    }
  }

  renderAll();

  const el = h("section", { class: "panel panel-side panel-facts", id: "panel-facts", "aria-label": "Your hidden story" },
    h("div", { class: "panel-title-row" }, h("h2", { class: "panel-title" }, "Your hidden story"), summary),
    h("p", { class: "hint" }, "Reveal a fact only when the seller earns it, and mark it as you say it."),
    list);

  return {
    el,
    setPhase(p) {
      phase = p;
      renderAll();
    },
    quickEl,
    revealed(msg) {
      pending.delete(msg.fact);
      revealed.set(msg.fact, { at_ms: msg.at_ms, earned_by: msg.earned_by });
      renderAll();
      restoreFocus(msg.fact);
    },
    unrevealed(msg) {
      pending.delete(msg.fact);
      revealed.delete(msg.fact);
      renderAll();
      restoreFocus(msg.fact);
    },
    /** A request was refused: let the buyer try again. */
    refused() {
      pending.clear();
      renderAll();
    },
    /** A chat line arrived; a card may quote it. */
    refresh: renderAll,
    get count() {
      return revealed.size;
    },
  };
}
