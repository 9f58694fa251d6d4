// The room debrief for the projector: every pair of a round side by side with its headline
// figures, the scenario's facts with how many sellers uncovered each (most missed first),
// the round's average and its change from the previous round, an optional leaderboard
// (off until the trainer turns it on), earlier rounds, and the session's exports.

import { h, replace } from "../dom.js";
import { KIND_LABEL, plural, weightDots } from "../format.js";
import { bar, changeBadge, scenarioTitle } from "./labels.js";

/**
 * @param {object} ctx
 * @param {() => object[]} ctx.scenarios
 * @param {(format: string, table?: string) => void} ctx.exportFile
 * @param {() => void} [ctx.planNext] go to the Lobby view to pair the next round (the
 *   view's main action, kept in its sticky heading)
 */
export function resultsPanel(ctx) {
  /** round number → RoundResults */
  const rounds = new Map();
  let selected = null;
  /** Whether the trainer asked to follow the newest round (true until they pick another). */
  let followLatest = true;
  let leaderboard = false;

  const roundPicker = h("div", { class: "round-picker", role: "group", "aria-label": "Round" });
  const boardBtn = h("button", {
    type: "button", class: "btn btn-small", id: "leaderboard-toggle", "aria-pressed": "false",
    on: { click: () => { leaderboard = !leaderboard; render(); } },
  }, "Leaderboard: off");
  const exports = h("div", { class: "exports", role: "group", "aria-label": "Export" },
    h("span", { class: "muted" }, "Export:"),
    h("button", { type: "button", class: "btn btn-small", id: "export-participants", on: { click: () => ctx.exportFile("csv", "participants") } }, "CSV: participants"),
    h("button", { type: "button", class: "btn btn-small", id: "export-facts", on: { click: () => ctx.exportFile("csv", "facts") } }, "CSV: facts"),
    h("button", { type: "button", class: "btn btn-small", id: "export-json", on: { click: () => ctx.exportFile("json") } }, "JSON: everything"));
  const body = h("div", { class: "results-body", id: "results-body" });
  const el = h("section", { class: "results-panel", id: "results-panel", "aria-labelledby": "results-h" },
    h("div", { class: "results-head" },
      h("h2", { id: "results-h" }, "Room debrief"), roundPicker, boardBtn, exports,
      ctx.planNext ? h("button", { type: "button", class: "btn btn-primary", id: "plan-next", on: { click: () => ctx.planNext() } }, "Plan the next round") : null),
    body);

  function renderPicker() {
    const numbers = [...rounds.keys()].sort((a, b) => a - b);
    replace(roundPicker, numbers.length > 1
      ? numbers.map((n) => h("button", {
        type: "button", class: "btn btn-small", "aria-pressed": String(n === selected), dataset: { round: String(n) },
        on: { click: () => { selected = n; followLatest = n === numbers[numbers.length - 1]; render(); } },
      }, `Round ${n}`))
      : null);
  }

  function figure(label, value, extra = null) {
    return h("div", { class: "fig" }, h("dt", {}, label), h("dd", {}, value, extra));
  }

  function yesNo(v, good) {
    return h("span", { class: v === good ? "yn yn-good" : "yn yn-bad" }, v ? "Yes" : "No");
  }

  function pairCard(p, multiScenario) {
    const heard = p.heard === null || p.heard === undefined ? "—" : `${p.heard}/5`;
    return h("article", { class: ["pair-result", p.finished ? "" : "is-playing"], dataset: { room: String(p.room) } },
      h("header", { class: "pair-result-head" },
        h("p", { class: "pair-result-names" }, h("strong", { class: "seller-name" }, p.seller), h("span", { class: "muted" }, " sold to "), p.buyer),
        multiScenario ? h("p", { class: "muted pair-result-scenario" }, scenarioTitle(ctx.scenarios(), p.scenario)) : null,
        p.finished ? null : h("span", { class: "chip playing-chip" }, "Still playing")),
      h("div", { class: "pair-headline" },
        h("span", { class: "big-pct pair-uncovered" }, `${p.uncovered_percent}%`),
        h("span", { class: "big-label" }, " uncovered ", changeBadge(p.change_from_previous))),
      bar(p.uncovered_percent, "Uncovered", "bar-uncovered"),
      h("dl", { class: "pair-figs" },
        figure("Facts", `${p.facts_uncovered}/${p.facts_total}`),
        figure("Captured in recap", p.finished ? `${p.captured_percent}%` : "—",
          // Some of the figure rests on the reader's match alone (no buyer verdict).
          p.finished && p.captured_automatic ? h("span", { class: "muted auto-note" }, " (matched automatically)") : null),
        figure("Buyer felt heard", heard),
        figure("Seller's talk share", p.finished ? `${p.seller_word_share}%` : "—"),
        figure("Questions", p.finished ? String(p.questions) : "—"),
        figure("Open questions", p.finished && p.open_share !== null && p.open_share !== undefined ? `${p.open_share}%` : "—"),
        figure("Pitched before pain", p.finished ? yesNo(p.pitched_before_pain, false) : "—"),
        figure("Asked “anything else?”", p.finished ? yesNo(p.asked_anything_else, true) : "—"),
        figure("Change from last time", p.change_from_previous === null || p.change_from_previous === undefined
          ? h("span", { class: "muted" }, "first time selling")
          : changeBadge(p.change_from_previous))));
  }

  function factRow(f, multiScenario) {
    const share = f.pairs ? Math.round((100 * f.uncovered_by) / f.pairs) : 0;
    return h("li", { class: ["fact-tally", `kind-${f.kind}`], dataset: { fact: f.id } },
      h("div", { class: "tally-text" },
        h("span", { class: `chip kind kind-${f.kind}` }, KIND_LABEL[f.kind] ?? f.kind), " ",
        h("span", { class: "weight", "aria-label": `Weight ${f.weight} of 3`, title: `Weight ${f.weight} of 3` }, weightDots(f.weight)), " ",
        h("span", { class: "tally-fact" }, f.text),
        multiScenario ? h("span", { class: "muted" }, ` (${scenarioTitle(ctx.scenarios(), f.scenario)})`) : null),
      h("div", { class: "tally-bar" },
        bar(share, `Uncovered by ${f.uncovered_by} of ${f.pairs}`, "bar-tally"),
        h("span", { class: "tally-count" }, `${f.uncovered_by} of ${plural(f.pairs, "seller")}`),
        h("span", { class: "tally-captured muted" }, ` · ${f.captured_by} in recap`)));
  }

  function leaderboardList(r) {
    const ranked = r.pairs.filter((p) => p.finished).slice()
      .sort((a, b) => b.uncovered_percent - a.uncovered_percent || a.seller.localeCompare(b.seller));
    if (!ranked.length) return h("p", { class: "muted" }, "The leaderboard fills as pairs finish.");
    let rank = 0;
    let last = null;
    return h("ol", { class: "leaderboard", id: "leaderboard" }, ranked.map((p, i) => {
      if (p.uncovered_percent !== last) rank = i + 1;
      last = p.uncovered_percent;
      return h("li", {}, h("span", { class: "rank" }, String(rank)), h("span", { class: "lb-name" }, p.seller),
        h("span", { class: "lb-pct" }, `${p.uncovered_percent}%`));
    }));
  }

  function render() {
    renderPicker();
    boardBtn.setAttribute("aria-pressed", String(leaderboard));
    boardBtn.textContent = leaderboard ? "Leaderboard: on" : "Leaderboard: off";
    const r = rounds.get(selected);
    if (!r) {
      replace(body, h("p", { class: "muted" }, "The room debrief appears here as pairs finish their first round."));
      return;
    }
    const multiScenario = new Set(r.pairs.map((p) => p.scenario)).size > 1;
    const change = r.average_uncovered !== null && r.average_uncovered !== undefined
      && r.previous_average_uncovered !== null && r.previous_average_uncovered !== undefined
      ? r.average_uncovered - r.previous_average_uncovered : null;
    const scenarioLine = multiScenario
      ? "Several scenarios"
      : scenarioTitle(ctx.scenarios(), r.pairs[0]?.scenario ?? "");
    replace(body,
      h("div", { class: "round-summary card" },
        h("div", { class: "round-average" },
          h("span", { class: "big-pct", id: "round-average" }, r.average_uncovered === null || r.average_uncovered === undefined ? "—" : `${r.average_uncovered}%`),
          h("span", { class: "big-label" }, " uncovered on average ", changeBadge(change))),
        h("p", { class: "round-line" },
          h("strong", {}, `Round ${r.round}`), ` · ${scenarioLine} · ${plural(r.pairs.length, "pair")}`,
          r.previous_average_uncovered !== null && r.previous_average_uncovered !== undefined
            ? ` · round ${r.round - 1}: ${r.previous_average_uncovered}%` : "",
          r.pairs_playing ? h("span", { class: "playing-note" }, ` · ${r.pairs_playing} still playing`) : null)),
      leaderboard ? h("section", { class: "card leaderboard-card", "aria-label": "Leaderboard" },
        h("h3", {}, "Leaderboard: sellers by share uncovered"), leaderboardList(r)) : null,
      h("div", { class: "pair-results", id: "pair-results" }, r.pairs.map((p) => pairCard(p, multiScenario))),
      h("section", { class: "card facts-tally", "aria-labelledby": "tally-h" },
        h("h3", { id: "tally-h" }, "The hidden story: how many sellers uncovered each fact (most missed first)"),
        r.facts.length
          ? h("ol", { class: "tally-list", id: "fact-tally" }, r.facts.map((f) => factRow(f, multiScenario)))
          : h("p", { class: "muted" }, "The facts show once a pair has finished.")));
  }

  render();

  return {
    el,
    /** Every round's results (from `console`). */
    setAll(list) {
      rounds.clear();
      for (const r of list) rounds.set(r.round, r);
      pickLatest();
      render();
    },
    /** One round's results changed (`round_results`). */
    update(r) {
      rounds.set(r.round, r);
      pickLatest();
      render();
    },
    /** Shows the newest round again. */
    showLatest() {
      followLatest = true;
      pickLatest();
      render();
    },
  };

  function pickLatest() {
    const numbers = [...rounds.keys()];
    if (!numbers.length) {
      selected = null;
      return;
    }
    if (followLatest || !rounds.has(selected)) selected = Math.max(...numbers);
  }
}
