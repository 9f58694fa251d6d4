// The debrief: the headline, the timeline picture, every fact of the hidden story with
// when and how it came out, the seller's behaviour figures with plain-language notes, the
// recap and the buyer's feedback, and the full transcript. The buyer can agree or disagree
// that the recap caught each fact; the server then sends the debrief again.

import { h, replace } from "./dom.js";
import { clock, DEPTH_LABEL, KIND_LABEL, plural, ROLE_LABEL, weightDots } from "./format.js";
import { readable, timelineFigure } from "./timeline.js";

const HEARD_LABELS = ["", "Not at all", "A little", "Somewhat", "Mostly", "Completely"];

/** What a seller's question was after, as the reader names it (`behaviour.question_aims`). */
export const AIM_LABEL = {
  situation: "Situation",
  problem: "Problem",
  implication: "Implication",
  need_payoff: "Need-payoff",
  goal: "Goal",
  decision: "Decision",
  concern: "Concern",
  more_to_say: "Anything else",
  other: "Other",
};
/** The order aims are counted in: SPIN first, then the rest. */
const AIM_ORDER = Object.keys(AIM_LABEL);

/** Shown on a fact the reader matched to the recap with no buyer verdict (scoring::AUTOMATIC_NOTE). */
export const AUTOMATIC_NOTE = "matched automatically, not confirmed by the buyer";

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * @param {object} ctx
 * @param {"seller"|"buyer"} ctx.role
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => void} ctx.onAgain "Play another round" (or back to the workshop)
 * @param {string} ctx.againLabel
 */
export function debriefView(ctx) {
  const content = h("div", { class: "debrief-content" });
  const notices = h("div", { class: "notices" });
  const el = h("main", { class: "screen debrief", id: "screen-debrief", dataset: { role: ctx.role } },
    h("header", { class: "topbar" },
      h("span", { class: "brand brand-sm" }, "Uncover"),
      h("span", { class: "topbar-title" }, "Debrief"),
      h("button", { type: "button", class: "btn btn-small", on: { click: ctx.onAgain } }, ctx.againLabel ?? "Play another round")),
    notices, content);

  function render(d) {
    const scrollY = window.scrollY;
    // A re-render (after a judgement) keeps the "why" disclosures the reader had open.
    const opened = new Set([...content.querySelectorAll("details[data-disclosure][open]")].map((e) => e.dataset.disclosure));
    // A judgement re-renders the cards: keep focus on the button that was pressed.
    const active = document.activeElement;
    const judged = active?.dataset?.judge ? { fact: active.closest("[data-fact]")?.dataset.fact, judge: active.dataset.judge } : null;
    replace(content,
      headlineSection(d, ctx),
      h("section", { class: "card", "aria-labelledby": "tl-h" },
        h("h2", { id: "tl-h" }, "Timeline"),
        timelineFigure(d)),
      factsSection(d, ctx),
      behaviourSection(d),
      recapSection(d),
      observerSection(d),
      transcriptSection(d),
      h("div", { class: "again-row" },
        h("button", { type: "button", class: "btn btn-primary btn-lg", id: "play-again", on: { click: ctx.onAgain } },
          ctx.againLabel ?? "Play another round")));
    for (const e of content.querySelectorAll("details[data-disclosure]")) {
      if (opened.has(e.dataset.disclosure)) e.open = true;
    }
    window.scrollTo(0, scrollY);
    if (!el.contains(document.activeElement)) {
      // First drawn (or focus was lost): start at the headline.
      const head = content.querySelector("h1, h2");
      if (head) {
        head.tabIndex = -1;
        head.focus({ preventScroll: true });
      }
    }
    if (judged) {
      const card = [...content.querySelectorAll("#debrief-facts [data-fact]")].find((c) => c.dataset.fact === judged.fact);
      card?.querySelector(`[data-judge="${judged.judge}"]`)?.focus({ preventScroll: true });
    }
  }

  return {
    el,
    render,
    partnerLeft(name) {
      notices.append(h("div", { class: "notice notice-info", role: "status" }, `${name} has left the debrief.`));
    },
  };
}

/** Human names for the behaviour figures that notes refer to by field name. */
const FIGURE_LABEL = {
  seller_word_share: "Share of the talking",
  questions: "Questions",
  stacked_questions: "Stacked questions",
  open_share: "Open questions",
  longest_monologue_words: "Longest monologue",
  first_pitch: "First pitch",
  pitched_before_pain: "Pitch timing",
  goals_before_problems: "Goals before problems",
  anything_else: "“Anything else?”",
  something_else: "“Something else?”",
  name_drops: "Name-dropping",
  question_aims: "What the questions were after",
  questionnaires: "Questionnaires",
  buyer_word_share: "Share of the talking",
};

/** A link to a transcript line, numbered from 1 as the server's notes number them. */
function lineRef(index) {
  return h("a", { href: `#line-${index}`, class: "line-ref" }, `message ${index + 1}`);
}

function lineRefs(indices) {
  return indices.map((i, n) => [n ? ", " : "", lineRef(i)]);
}

function headlineSection(d, ctx) {
  const pct = Math.max(0, Math.min(100, d.headline.percent));
  const cpct = Math.max(0, Math.min(100, d.captured.percent));
  const feedback = d.feedback
    ? h("p", { class: "heard", id: "heard-score" },
      h("span", { class: "heard-big" }, `${d.feedback.heard}/5`),
      ` ${d.buyer} felt heard: ${HEARD_LABELS[d.feedback.heard] ?? ""}`.trimEnd(),
      d.feedback.comment ? h("q", { class: "heard-comment" }, d.feedback.comment) : null)
    : h("p", { class: "heard muted", id: "heard-score" }, "The buyer gave no feedback.");
  return h("section", { class: "card headline-card", "aria-labelledby": "headline" },
    h("p", { class: "eyebrow" },
      d.scenario.title, " · ",
      `Seller ${d.seller}, buyer ${d.buyer}`, " · ",
      `${clock(d.conversation_ms)} of conversation`,
      " · You were the ", (ROLE_LABEL[ctx.role] ?? ctx.role).toLowerCase()),
    h("h1", { class: "headline", id: "headline" }, d.headline.text),
    meter("Uncovered", pct, "meter-uncovered"),
    h("p", { class: "captured", id: "captured" }, d.captured.text),
    meter("Captured in the recap", cpct, "meter-captured"),
    feedback);
}

function meter(label, pct, cls) {
  return h("div", { class: `meter ${cls}`, role: "meter", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct) },
    h("div", { class: "meter-fill", style: { width: `${pct}%` } }));
}

function factsSection(d, ctx) {
  const canJudge = ctx.role === "buyer" && d.recap !== null && d.recap !== undefined;
  const cards = d.facts.map((f) => {
    const judge = canJudge
      ? h("div", { class: "judge", role: "group", "aria-label": "Did the recap catch this?" },
        h("span", { class: "judge-q" }, "Did the recap catch this?"),
        h("button", {
          type: "button", class: "btn btn-small", dataset: { judge: "agree" }, "aria-pressed": String(f.buyer_judgement === true),
          on: { click: () => ctx.send({ type: "judge_capture", fact: f.id, agree: true }) },
        }, "Yes"),
        h("button", {
          type: "button", class: "btn btn-small", dataset: { judge: "disagree" }, "aria-pressed": String(f.buyer_judgement === false),
          on: { click: () => ctx.send({ type: "judge_capture", fact: f.id, agree: false }) },
        }, "No"))
      : null;
    const recapLine = d.recap === null || d.recap === undefined ? null : recapMatch(f, d);
    return h("article", { class: ["fact-card", "debrief-fact", `kind-${f.kind}`], dataset: { fact: f.id, state: f.uncovered ? "uncovered" : "missed" } },
      h("div", { class: "fact-head" },
        h("span", { class: `chip kind kind-${f.kind}` }, KIND_LABEL[f.kind] ?? f.kind),
        h("span", { class: "chip depth" }, DEPTH_LABEL[f.depth] ?? f.depth),
        h("span", { class: "weight", title: `Weight ${f.weight} of 3`, "aria-label": `Weight ${f.weight} of 3` }, weightDots(f.weight)),
        f.uncovered
          ? h("span", { class: "status-badge status-revealed" }, `Uncovered at ${clock(f.at_ms)}`)
          : h("span", { class: "status-badge status-missed" }, "Missed")),
      h("p", { class: "fact-text" }, f.text),
      f.earned_by
        ? h("p", { class: "fact-earned-by" }, h("strong", {}, "Earned by "), lineRef(f.earned_by.index),
          ` at ${clock(f.earned_by.at_ms)}: `, h("q", {}, f.earned_by.text))
        : f.uncovered ? h("p", { class: "fact-earned-by muted" }, "Revealed before the seller had said anything.") : null,
      // The guidance speaks to the buyer ("You hinted at it…"): say whose it was.
      h("p", { class: "fact-earned" }, h("strong", {}, ctx.role === "buyer" ? "Earned when: " : "The buyer was told to reveal it when: "), f.earned_when),
      recapLine,
      whyDisclosure(f),
      judge);
  });
  return h("section", { class: "card", "aria-labelledby": "facts-h" },
    h("h2", { id: "facts-h" }, "The hidden story"),
    canJudge ? h("p", { class: "hint" }, "You were the buyer: say whether the recap really caught each fact. Your answer overrides the automatic match.") : null,
    h("div", { class: "fact-grid", id: "debrief-facts" }, cards));
}

/** Whether the recap caught the fact, the recap sentence that matched it (quoted), and a
 * plain label when only the reader's match stands behind it. */
function recapMatch(f, d) {
  const cues = f.matched_cues ?? [];
  const quoted = cues.map((c, i) => [i ? ", " : "", h("q", { class: "recap-sentence" }, c)]);
  let status;
  if (f.captured) status = f.uncovered ? "In the recap" : "In the recap, though never marked revealed";
  else status = "Not in the recap";
  return h("div", { class: "fact-recap-block" },
    h("p", { class: ["fact-recap", f.captured ? "is-yes" : "is-no"] },
      h("strong", {}, status),
      cues.length
        ? f.captured
          ? [": ", quoted]
          : [" (the reader had matched ", quoted, ")"]
        : null,
      f.buyer_judgement === true ? `. ${d.buyer}, the buyer, decided: yes, the recap caught it.` : null,
      f.buyer_judgement === false ? `. ${d.buyer}, the buyer, decided: no, the recap missed it.` : null),
    f.captured_automatically
      ? h("p", { class: "auto-label" }, h("span", { class: "auto-icon", "aria-hidden": "true" }, "≈"), capitalise(AUTOMATIC_NOTE))
      : null);
}

/** "Why?": the reader's working for the recap match and, in a bot round, for the message
 * that earned the fact. Nothing when the reader left no working. */
function whyDisclosure(f) {
  const rows = [
    f.recap_reading ? ["The recap", f.recap_reading] : null,
    f.earned_reading ? ["The message that earned it", f.earned_reading] : null,
  ].filter(Boolean);
  if (!rows.length) return null;
  return h("details", { class: "why", dataset: { disclosure: `why-${f.id}` } },
    h("summary", { class: "why-summary" }, "Why? How the reader matched it"),
    h("dl", { class: "why-body" }, rows.map(([label, text]) => [
      h("dt", {}, label),
      h("dd", { class: "reading" }, readable(text))])),
    h("p", { class: "why-note" }, "The reader compares meanings: a higher score is closer. The closest must clear the bar (“needs”) and lead the next-closest fact by the margin shown (“lead”)."));
}

function yesNo(v) {
  return v ? "Yes" : "No";
}

function behaviourSection(d) {
  const b = d.behaviour;
  if (d.channel === "spoken") {
    return h("section", { class: "card", "aria-labelledby": "beh-h" },
      h("h2", { id: "beh-h" }, "How the seller talked"),
      h("p", { class: "muted" }, "This round was spoken aloud, so there is no transcript to read figures from."));
  }
  const stacked = b.stacked_questions ?? [];
  const questionnaires = b.questionnaires ?? [];
  const monoTo = b.longest_monologue_to ?? b.longest_monologue_from;
  const core = b.first_pain_or_goal;
  const figures = [
    ["Seller's share of the words", `${b.seller_word_share}%`,
      `${b.seller_words} seller words, ${b.buyer_words} buyer words` +
      (b.buyer_word_share === undefined ? "" : `; the buyer's share ${b.buyer_word_share}%`)],
    ["Questions asked", String(b.questions.length), b.questions.length
      ? [plural(b.open_questions.length, "open question"), b.open_share === null ? "" : ` (${b.open_share}%)`,
        stacked.length ? [`; ${stacked.length} stacked: `, lineRefs(stacked)] : ""]
      : "No questions"],
    ["Longest monologue", plural(b.longest_monologue_words, "word"), b.longest_monologue_from === null ? null
      : monoTo !== b.longest_monologue_from
        ? [lineRef(b.longest_monologue_from), " to ", lineRef(monoTo)]
        : ["in ", lineRef(b.longest_monologue_from)]],
    ["First pitch", b.first_pitch ? `“${b.first_pitch.word}”` : "None", b.first_pitch ? ["at ", clock(b.first_pitch.at_ms), ", ", lineRef(b.first_pitch.index)] : "The seller never pitched"],
    ["Pitched before any pain or goal came out", b.first_pitch ? yesNo(b.pitched_before_pain) : "—",
      core ? `First ${KIND_LABEL[core.kind]?.toLowerCase() ?? core.kind} revealed at ${clock(core.at_ms)}` : "No pain or goal was revealed"],
    ["Asked about goals before problems", b.goals_before_problems === null ? "—" : yesNo(b.goals_before_problems),
      b.goals_before_problems === null ? "Neither came up as a question" : null],
    ["Asked “anything else?”", b.anything_else.length ? plural(b.anything_else.length, "time") : "Never",
      b.anything_else.length ? [lineRefs(b.anything_else), somethingElseDetail(b)] : null],
    ...(b.questionnaires === undefined ? [] : [["Questionnaires", questionnaires.length ? String(questionnaires.length) : "None",
      questionnaires.length
        ? [lineRefs(questionnaires), ": more than two questions, or three or more topics, in one message"]
        : "No message fired off a list of questions"]]),
    ["Name-drops", b.name_drops.length ? String(b.name_drops.length) : "None",
      b.name_drops.length ? b.name_drops.map((nd, n) => [n ? ", " : "", nd.name, " (", lineRef(nd.index), ")"]) : null],
  ];
  return h("section", { class: "card", "aria-labelledby": "beh-h" },
    h("h2", { id: "beh-h" }, "How the seller talked"),
    b.notes.length
      ? h("ul", { class: "note-list", id: "behaviour-notes" }, b.notes.map((n) => h("li", { class: "note" },
        h("span", { class: "note-figure" }, FIGURE_LABEL[n.figure] ?? n.figure.replace(/_/g, " ")),
        h("p", { class: "note-text" }, n.text),
        n.reference ? h("p", { class: "note-ref" }, n.reference) : null)))
      : null,
    questionAims(b),
    h("h3", {}, "The figures"),
    h("dl", { class: "figures", id: "behaviour-figures" }, figures.map(([label, value, detail]) =>
      h("div", { class: "figure" },
        h("dt", {}, label),
        h("dd", {}, h("span", { class: "figure-value" }, value),
          detail ? h("span", { class: "figure-detail" }, detail) : null)))));
}

/** "said “something else”" detail for the anything-else figure. */
function somethingElseDetail(b) {
  const some = b.something_else ?? [];
  if (!some.length) return b.something_else ? "; worded “anything else”, never “something else”" : null;
  if (some.length === b.anything_else.length) return ", worded “something else”";
  return ["; worded “something else” in ", lineRefs(some)];
}

/** What each question was after, read by meaning: counts per aim, then each question. */
function questionAims(b) {
  const aims = b.question_aims ?? [];
  if (!aims.length) return null;
  const counts = new Map();
  for (const a of aims) counts.set(a.aim, (counts.get(a.aim) ?? 0) + 1);
  const ordered = [...counts.keys()].sort((x, y) => AIM_ORDER.indexOf(x) - AIM_ORDER.indexOf(y));
  return h("div", { class: "aims", id: "question-aims" },
    h("h3", { id: "aims-h" }, "What the questions were after"),
    h("ul", { class: "aim-counts", "aria-labelledby": "aims-h" }, ordered.map((aim) =>
      h("li", { class: ["aim-count", `aim-${aim}`], dataset: { aim } },
        h("span", { class: "aim-name" }, AIM_LABEL[aim] ?? aim), " ",
        h("span", { class: "aim-n" }, `×${counts.get(aim)}`)))),
    h("details", { class: "why aim-details", dataset: { disclosure: "aims" } },
      h("summary", { class: "why-summary" }, `Each question, read by meaning (${plural(aims.length, "question")})`),
      h("ol", { class: "aim-list" }, aims.map((a) => h("li", { class: "aim-item" },
        lineRef(a.index), ": ", h("q", {}, a.sentence), " ",
        h("span", { class: ["chip", "chip-aim", `aim-${a.aim}`] }, AIM_LABEL[a.aim] ?? a.aim),
        a.example
          ? h("span", { class: "aim-working" }, ` nearest example “${a.example}”, ${Number(a.score).toFixed(2)}`)
          : null)))));
}

function recapSection(d) {
  return h("section", { class: "card", "aria-labelledby": "recap-h" },
    h("h2", { id: "recap-h" }, "The seller's recap"),
    d.recap
      ? h("blockquote", { class: "recap-text prose", id: "recap-text" }, d.recap)
      : h("p", { class: "muted" }, "No recap was written."));
}

function observerSection(d) {
  const notes = d.observer_notes ?? [];
  if (!notes.length) return null;
  return h("section", { class: "card", "aria-labelledby": "obs-h" },
    h("h2", { id: "obs-h" }, "Observers' notes"),
    h("ul", { class: "note-list" }, notes.map((n) => h("li", { class: "note" },
      h("span", { class: "note-figure" }, n.name),
      h("p", { class: "note-text prose" }, n.text)))));
}

function transcriptSection(d) {
  if (d.channel === "spoken") {
    return h("section", { class: "card", "aria-labelledby": "tr-h" },
      h("h2", { id: "tr-h" }, "Transcript"),
      h("p", { class: "muted" }, "Spoken round: nothing was typed."));
  }
  const questions = new Set(d.behaviour.questions);
  const open = new Set(d.behaviour.open_questions);
  const anythingElse = new Set(d.behaviour.anything_else ?? []);
  const pitchAt = d.behaviour.first_pitch?.index;
  const stackedSet = new Set(d.behaviour.stacked_questions ?? []);
  const questionnaireSet = new Set(d.behaviour.questionnaires ?? []);
  const somethingElse = new Set(d.behaviour.something_else ?? []);
  /** line index → the aims of its question sentences, in order */
  const aimsByLine = new Map();
  for (const a of d.behaviour.question_aims ?? []) {
    if (!aimsByLine.has(a.index)) aimsByLine.set(a.index, []);
    aimsByLine.get(a.index).push(a);
  }
  const rows = d.transcript.map((l) => ({ at: l.at_ms, order: 0, line: l }));
  for (const f of d.facts) {
    if (f.uncovered && f.at_ms !== null) rows.push({ at: f.at_ms, order: 1, fact: f });
  }
  rows.sort((a, b) => a.at - b.at || a.order - b.order);
  const items = rows.map((r) => {
    if (r.fact) {
      return h("li", { class: "t-reveal" }, h("span", { class: "t-time" }, clock(r.at)),
        h("span", {}, "Fact revealed: ", h("strong", {}, r.fact.text)));
    }
    const l = r.line;
    const name = l.from === "seller" ? d.seller : d.buyer;
    return h("li", { class: ["t-line", `from-${l.from}`], id: `line-${l.index}` },
      h("span", { class: "t-time" }, clock(l.at_ms)),
      h("span", { class: "t-who" }, `${l.index + 1}. ${name} (${ROLE_LABEL[l.from]})`,
        questionnaireSet.has(l.index) ? h("span", { class: "chip chip-questionnaire" }, "Questionnaire")
          : stackedSet.has(l.index) ? h("span", { class: "chip chip-question" }, "Stacked") : null,
        anythingElse.has(l.index)
          ? h("span", { class: "chip chip-question" }, somethingElse.has(l.index) ? "Something else? (open)" : "Anything else? (open)")
          : questions.has(l.index) ? h("span", { class: "chip chip-question" }, open.has(l.index) ? "Open question" : "Question") : null,
        (aimsByLine.get(l.index) ?? []).filter((a) => a.aim !== "more_to_say").map((a) =>
          h("span", { class: ["chip", "chip-aim", `aim-${a.aim}`], title: `${AIM_LABEL[a.aim] ?? a.aim} question: “${a.sentence}”` },
            h("span", { class: "visually-hidden" }, "Asked about: "), AIM_LABEL[a.aim] ?? a.aim)),
        pitchAt === l.index ? h("span", { class: "chip chip-pitch" }, "First pitch") : null),
      h("p", { class: "t-text" }, l.text));
  });
  return h("section", { class: "card", "aria-labelledby": "tr-h" },
    h("h2", { id: "tr-h" }, "Transcript"),
    items.length ? h("ol", { class: "transcript", id: "transcript" }, items) : h("p", { class: "muted" }, "Nobody said anything."));
}
