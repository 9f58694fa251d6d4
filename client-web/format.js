// Formatting shared by the views: clock times, human labels for protocol values, and
// character counts that agree with the server's (which counts Unicode scalar values).

/** "m:ss" for a duration in milliseconds (rounded down to the second). */
export function clock(ms) {
  const total = Math.max(0, Math.floor((ms ?? 0) / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

/** "m:ss" for a countdown, rounded up so "0:00" shows only when time is really up. */
export function countdown(ms) {
  return clock(Math.ceil(Math.max(0, ms) / 1000) * 1000);
}

/** Characters as the server counts them (code points, not UTF-16 units). */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export const ROLE_LABEL = { seller: "Seller", buyer: "Buyer", observer: "Observer" };

export const PHASES = ["briefing", "conversation", "recap", "debrief"];
export const PHASE_LABEL = {
  briefing: "Briefing",
  conversation: "Conversation",
  recap: "Recap",
  debrief: "Debrief",
};

export const KIND_LABEL = {
  goal: "Goal",
  pain: "Pain",
  impact: "Impact",
  decision: "Decision",
  constraint: "Constraint",
  concern: "Concern",
  personal: "Personal",
};

export const DEPTH_LABEL = {
  surface: "Surface",
  deeper: "Deeper",
  hidden: "Hidden",
};

export const DIFFICULTY_LABEL = { intro: "Intro", standard: "Standard", hard: "Hard" };

/** "1 fact", "2 facts". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Weight 1-3 as filled dots, with a text alternative for screen readers. */
export function weightDots(weight) {
  const w = Math.max(0, Math.min(3, weight | 0));
  return "●".repeat(w) + "○".repeat(3 - w);
}

/** Turns a fact id slug into words: "son-takes-over" → "Son takes over". */
export function slugWords(id) {
  const s = String(id).replace(/[-_]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
