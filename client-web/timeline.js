// The timeline picture in the debrief, drawn as inline SVG: a time axis across the
// conversation, one lane per speaker with each message as a mark as wide as it was long,
// seller questions marked apart, each reveal labelled with its fact, the first pitch,
// and the bot's trust as a line when there is one. `timelineModel` is pure (no DOM) so
// the geometry can be tested without a browser.

import { svg, h } from "./dom.js";
import { clock, slugWords } from "./format.js";

/** Drawing units across the picture; the SVG scales to its box. */
const WIDTH = 1000;
const PLOT_LEFT = 96;
const PLOT_RIGHT = 980;
const LABEL_ROW_PX = 20;
/** Reveal labels stagger over at most this many rows before they are allowed to overlap. */
const MAX_LABEL_ROWS = 6;
const LANE_PX = 40;
const TRUST_PX = 70;
const AXIS_PX = 30;
/** A message mark's width: a floor so one word is visible, plus a share per character. */
const MARK_MIN = 4;
const MARK_PER_CHAR = 0.1;
/** Beyond this length a message is simply "long"; keeps one essay from covering the lane. */
const MARK_MAX_CHARS = 600;
/** Approximate width of one label character at the label font size, for staggering. */
const LABEL_CHAR_PX = 7.4;
/** Labels longer than this are shortened with an ellipsis (the full text is in the tooltip). */
const LABEL_MAX_CHARS = 34;
/** Candidate tick spacings; the smallest giving at most MAX_TICKS ticks is used. */
const TICK_STEPS_MS = [5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000];
const MAX_TICKS = 10;

/** Everything the picture shows, in milliseconds and plain values. */
export function timelineModel(debrief) {
  const transcript = debrief.transcript ?? [];
  const behaviour = debrief.behaviour ?? {};
  const questions = new Set(behaviour.questions ?? []);
  // "Is there anything else…?" is yes/no in form but invites whatever is left: drawn open.
  const open = new Set([...(behaviour.open_questions ?? []), ...(behaviour.anything_else ?? [])]);
  const byIndex = new Map(transcript.map((l) => [l.index, l]));
  const reveals = (debrief.facts ?? [])
    .filter((f) => f.uncovered && f.at_ms !== null && f.at_ms !== undefined)
    .map((f) => ({ id: f.id, label: slugWords(f.id), kind: f.kind, at_ms: f.at_ms, text: f.text }))
    .sort((a, b) => a.at_ms - b.at_ms);
  const pitch = behaviour.first_pitch
    ? { at_ms: behaviour.first_pitch.at_ms, word: behaviour.first_pitch.word, index: behaviour.first_pitch.index }
    : null;
  const trust = (debrief.trust_curve ?? []).map((p) => ({
    index: p.index ?? null,
    at_ms: p.index === null || p.index === undefined ? 0 : byIndex.get(p.index)?.at_ms ?? 0,
    trust: Math.max(0, Math.min(100, p.trust)),
    causes: p.causes ?? [],
    reading: p.reading ?? null,
  })).sort((a, b) => a.at_ms - b.at_ms);
  // How much each point moved trust from the one before.
  trust.forEach((p, i) => { p.change = i ? p.trust - trust[i - 1].trust : 0; });
  const latest = Math.max(
    0,
    ...transcript.map((l) => l.at_ms),
    ...reveals.map((r) => r.at_ms),
  );
  const end = Math.max(debrief.conversation_ms ?? 0, latest, 1000);
  const messages = transcript.map((l) => ({
    index: l.index,
    from: l.from,
    at_ms: l.at_ms,
    chars: [...l.text].length,
    text: l.text,
    question: l.from === "seller" && questions.has(l.index),
    open: l.from === "seller" && open.has(l.index),
  }));
  return { end, messages, reveals, pitch, trust };
}

/** Tick times (ms) for an axis ending at `end`. */
export function ticks(end) {
  let i = TICK_STEPS_MS.findIndex((s) => end / s <= MAX_TICKS);
  if (i < 0) i = TICK_STEPS_MS.length - 1;
  // A short conversation still gets a readable axis: at least three ticks.
  while (i > 0 && end / TICK_STEPS_MS[i] < 2) i -= 1;
  const step = TICK_STEPS_MS[i];
  const out = [];
  for (let t = 0; t <= end; t += step) out.push(t);
  return out;
}

/** Width of a message mark in drawing units. */
export function markWidth(chars) {
  return MARK_MIN + Math.min(chars, MARK_MAX_CHARS) * MARK_PER_CHAR;
}

/**
 * Assigns each marker (sorted by time) a label row so labels overlap as little as
 * possible. A label reads rightwards from its marker, or leftwards when it would run
 * past `right`; the returned `anchorEnd` says which.
 */
export function staggerLabels(markers, x, labelWidth, right) {
  const rowEnds = [];
  return markers.map((m) => {
    const at = x(m.at_ms);
    const width = labelWidth(m);
    const anchorEnd = at + width > right;
    const start = anchorEnd ? at - width : at;
    let row = rowEnds.findIndex((e) => e < start - 4);
    if (row === -1) {
      if (rowEnds.length < MAX_LABEL_ROWS) row = rowEnds.length;
      else row = rowEnds.indexOf(Math.min(...rowEnds));
    }
    rowEnds[row] = anchorEnd ? at : at + width;
    return { ...m, row, anchorEnd };
  });
}

function shorten(text) {
  return text.length > LABEL_MAX_CHARS ? `${text.slice(0, LABEL_MAX_CHARS - 1)}…` : text;
}

/** The SVG picture plus its legend, ready to insert. */
export function timelineFigure(debrief) {
  const model = timelineModel(debrief);
  const x = (ms) => PLOT_LEFT + (ms / model.end) * (PLOT_RIGHT - PLOT_LEFT);

  const markers = [
    ...model.reveals.map((r) => ({ ...r, type: "reveal", labelText: shorten(r.label) })),
    ...(model.pitch ? [{ ...model.pitch, type: "pitch", labelText: `First pitch: “${shorten(model.pitch.word)}”` }] : []),
  ].sort((a, b) => a.at_ms - b.at_ms);
  const placed = staggerLabels(markers, x, (m) => m.labelText.length * LABEL_CHAR_PX + 16, PLOT_RIGHT);
  const rows = placed.length ? Math.max(...placed.map((m) => m.row)) + 1 : 0;

  const top = 8 + rows * LABEL_ROW_PX + (rows ? 6 : 0);
  const sellerY = top;
  const buyerY = sellerY + LANE_PX;
  const lanesBottom = buyerY + LANE_PX;
  const hasTrust = model.trust.length > 0;
  const trustY = lanesBottom + 10;
  const plotBottom = hasTrust ? trustY + TRUST_PX : lanesBottom;
  const height = plotBottom + AXIS_PX;

  const root = svg("svg", {
    class: "timeline",
    id: "timeline",
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-labelledby": "timeline-title timeline-desc",
    preserveAspectRatio: "xMinYMin meet",
  });
  root.append(
    svg("title", { id: "timeline-title" }, "Timeline of the conversation"),
    svg("desc", { id: "timeline-desc" },
      `${model.messages.length} messages over ${clock(model.end)}; ${model.reveals.length} facts revealed` +
      (model.pitch ? `; first pitch at ${clock(model.pitch.at_ms)}` : "; no pitch")));

  // Lanes and their names.
  const lanes = [["Seller", sellerY, "seller"], ["Buyer", buyerY, "buyer"]];
  for (const [name, y, cls] of lanes) {
    root.append(
      svg("rect", { class: `tl-lane tl-lane-${cls}`, x: PLOT_LEFT, y, width: PLOT_RIGHT - PLOT_LEFT, height: LANE_PX - 4, rx: 4 }),
      svg("text", { class: "tl-lane-label", x: PLOT_LEFT - 10, y: y + LANE_PX / 2 + 2, "text-anchor": "end" }, name));
  }
  if (hasTrust) {
    root.append(
      svg("rect", { class: "tl-lane tl-lane-trust", x: PLOT_LEFT, y: trustY, width: PLOT_RIGHT - PLOT_LEFT, height: TRUST_PX, rx: 4 }),
      svg("line", { class: "tl-grid", x1: PLOT_LEFT, x2: PLOT_RIGHT, y1: trustY + TRUST_PX / 2, y2: trustY + TRUST_PX / 2 }),
      svg("text", { class: "tl-lane-label", x: PLOT_LEFT - 10, y: trustY + TRUST_PX / 2 + 4, "text-anchor": "end" }, "Bot trust"),
      svg("text", { class: "tl-scale", x: PLOT_LEFT + 4, y: trustY + 12 }, "100"),
      svg("text", { class: "tl-scale", x: PLOT_LEFT + 4, y: trustY + TRUST_PX - 4 }, "0"));
  }

  // Axis.
  for (const t of ticks(model.end)) {
    const tx = x(t);
    root.append(
      svg("line", { class: "tl-tick", x1: tx, x2: tx, y1: top, y2: plotBottom + 4 }),
      svg("text", { class: "tl-axis-label", x: tx, y: plotBottom + 20, "text-anchor": "middle" }, clock(t)));
  }

  // Messages.
  for (const m of model.messages) {
    const laneY = m.from === "seller" ? sellerY : buyerY;
    const cls = m.from === "buyer"
      ? "tl-msg tl-buyer"
      : m.question ? (m.open ? "tl-msg tl-question tl-open" : "tl-msg tl-question tl-closed") : "tl-msg tl-seller";
    const w = markWidth(m.chars);
    const mx = Math.min(x(m.at_ms), PLOT_RIGHT - w);
    const inset = m.question ? 3 : 8;
    const kindText = m.from === "buyer" ? "Buyer" : m.question ? (m.open ? "Seller, open question" : "Seller, closed question") : "Seller";
    root.append(svg("rect", {
      class: cls, x: mx, y: laneY + inset, width: w, height: LANE_PX - 4 - inset * 2, rx: 2,
      "data-index": m.index,
    }, svg("title", {}, `${kindText} at ${clock(m.at_ms)}: ${m.text.length > 140 ? `${m.text.slice(0, 139)}…` : m.text}`)));
    if (m.question) {
      root.append(svg("text", { class: "tl-qmark", x: mx + w / 2, y: laneY + LANE_PX / 2 + 3, "text-anchor": "middle" }, "?"));
    }
  }

  // Trust line: a step line, each seller line changing it.
  if (hasTrust) {
    const ty = (v) => trustY + TRUST_PX - (v / 100) * TRUST_PX;
    const pts = [];
    let last = model.trust[0].trust;
    pts.push([x(0), ty(last)]);
    for (const p of model.trust) {
      pts.push([x(p.at_ms), ty(last)], [x(p.at_ms), ty(p.trust)]);
      last = p.trust;
    }
    pts.push([x(model.end), ty(last)]);
    root.append(svg("polyline", {
      class: "tl-trust",
      points: pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" "),
    }, svg("title", {}, `Bot trust: starts at ${model.trust[0].trust}, ends at ${last}`)));
    // A dot per seller line the bot read, its tooltip saying what moved trust and why.
    for (const p of model.trust) {
      if (p.index === null) continue;
      root.append(svg("circle", {
        class: ["tl-trust-point", p.change > 0 ? "is-up" : p.change < 0 ? "is-down" : "is-flat"].join(" "),
        cx: x(p.at_ms).toFixed(1), cy: ty(p.trust).toFixed(1), r: 4.5, "data-index": p.index,
      }, svg("title", {}, trustPointText(p))));
    }
  }

  // Reveal and pitch markers with staggered labels above the lanes.
  for (const m of placed) {
    const mx = x(m.at_ms);
    const labelY = 8 + m.row * LABEL_ROW_PX + 13;
    const cls = m.type === "pitch" ? "tl-pitch" : `tl-reveal kind-${m.kind}`;
    root.append(svg("g", { class: cls, "data-fact": m.type === "reveal" ? m.id : null },
      svg("title", {}, m.type === "pitch"
        ? `First pitch at ${clock(m.at_ms)}: “${m.word}”`
        : `${m.label} revealed at ${clock(m.at_ms)}: ${m.text}`),
      svg("line", { class: "tl-marker-line", x1: mx, x2: mx, y1: labelY + 4, y2: plotBottom }),
      m.type === "pitch"
        ? svg("rect", { class: "tl-marker", x: mx - 5, y: labelY - 9, width: 10, height: 10 })
        : svg("path", { class: "tl-marker", d: `M ${mx} ${labelY - 11} l 6 6 l -6 6 l -6 -6 z` }),
      svg("text", {
        class: "tl-marker-label",
        x: m.anchorEnd ? mx - 10 : mx + 10,
        y: labelY,
        "text-anchor": m.anchorEnd ? "end" : "start",
      }, m.labelText)));
  }

  const legendItems = [
    ["sw-seller", "Seller message"],
    ["sw-open", "Seller open question (?)"],
    ["sw-closed", "Seller closed question (?)"],
    ["sw-buyer", "Buyer message"],
    ["sw-reveal", "Fact revealed"],
    ["sw-pitch", "First pitch"],
    ...(hasTrust ? [["sw-trust", "Bot's trust (0–100)"]] : []),
  ];
  const legend = h("ul", { class: "legend", "aria-label": "Legend" },
    legendItems.map(([cls, text]) => h("li", {}, h("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), text)),
    h("li", { class: "legend-note" }, "Mark width shows message length."));

  return h("figure", { class: "timeline-figure" },
    h("p", { class: "timeline-hint hint" }, "Swipe sideways to see the whole conversation."),
    // Scrolls sideways on a phone: focusable so a keyboard can scroll it too.
    h("div", { class: "timeline-scroll", tabIndex: 0, role: "region", "aria-label": "Timeline of the conversation (scrolls sideways)" }, root),
    legend,
    hasTrust ? trustSteps(model) : null);
}

/** A reader's working with its `fact-id`s named as the debrief names facts. */
export function readable(reading) {
  return reading.replace(/`([A-Za-z0-9_-]+)`/g, (_, id) => `“${slugWords(id)}”`);
}

function signed(n) {
  return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "±0";
}

/** One trust point as a sentence, for the dot's tooltip. */
export function trustPointText(p) {
  const head = `After message ${p.index + 1} (${clock(p.at_ms)}): trust ${p.trust} (${signed(p.change)})`;
  const causes = p.causes.length ? `. ${p.causes.join("; ")}` : "";
  const reading = p.reading ? `. Reading: ${readable(p.reading)}` : "";
  return `${head}${causes}${reading}`;
}

/** The trust line in words, point by point, for keyboards, screen readers and phones
 * (an SVG tooltip needs a mouse). */
function trustSteps(model) {
  const points = model.trust.filter((p) => p.index !== null);
  if (!points.length) return null;
  return h("details", { class: "why trust-steps", id: "trust-steps", dataset: { disclosure: "trust-steps" } },
    h("summary", { class: "why-summary" }, `How the bot's trust moved, message by message (${model.trust[0].trust} to ${model.trust[model.trust.length - 1].trust})`),
    h("ol", { class: "trust-list" }, points.map((p) => h("li", { class: "trust-step", dataset: { index: String(p.index) } },
      h("p", { class: "trust-head" },
        h("a", { href: `#line-${p.index}`, class: "line-ref" }, `Message ${p.index + 1}`),
        ` at ${clock(p.at_ms)}: trust ${p.trust} `,
        h("span", { class: ["trust-change", p.change > 0 ? "is-up" : p.change < 0 ? "is-down" : "is-flat"] }, `(${signed(p.change)})`)),
      p.causes.length
        ? h("ul", { class: "trust-causes" }, p.causes.map((c) => h("li", {}, c)))
        : h("p", { class: "trust-causes muted" }, "Nothing in it moved trust."),
      p.reading ? h("p", { class: "reading" }, h("strong", {}, "How the bot read it: "), readable(p.reading)) : null))));
}
