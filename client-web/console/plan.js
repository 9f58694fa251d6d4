// Round setup: the scenario (or one per pair at random), the channel, the phase timings and
// what happens to an odd one out, sent as `plan_round`. The server's proposed pairs then
// show with its warnings, and the trainer can change any of them before starting: pick
// another scenario, swap seller and buyer, put someone else in a seat (whoever was there
// takes the chosen person's old place), add or drop observers and pairs. Every change is
// sent at once as `set_pairs` with the whole list, so the warnings stay current.
// From the second round on, the scenario defaults to "one per pair that neither has
// played": a new seller who has read the hidden story as a buyer would learn nothing.

import { h, replace } from "../dom.js";
import { DIFFICULTY_LABEL } from "../format.js";
import { CHANNEL_LABEL } from "./labels.js";

/** Defaults that match common facilitation practice, in minutes: read, talk, recap. */
const DEFAULT_MINUTES = { briefing: 3, conversation: 10, recap: 2 };
/** Must match MAX_PHASE_SECS in server/src/scenario.rs: no phase outlasts a workshop hour. */
const MAX_PHASE_MINUTES = 60;
const SETUP_KEY = "uncover.console.setup";
/** `<select>` value for "a different scenario per pair". */
const RANDOM = "";
/** `<select>` value for the bot buyer in a buyer seat. */
const BOT = "bot";

function loadSetup() {
  try {
    return JSON.parse(localStorage.getItem(SETUP_KEY) ?? "null") ?? {};
  } catch {
    return {};
  }
}

function saveSetup(setup) {
  try {
    localStorage.setItem(SETUP_KEY, JSON.stringify(setup));
  } catch {
    // Storage may be refused (private mode); the form just starts from the defaults.
  }
}

/**
 * @param {object} ctx
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => object[]} ctx.scenarios
 */
export function planPanel(ctx) {
  const saved = loadSetup();
  let members = [];
  /** The plan as shown, with the trainer's edits applied before the server confirms them. */
  let plan = null;
  /** The plan as the server last sent it, to go back to if an edit is refused. */
  let serverPlan = null;
  let planKey = "";
  let running = false;
  let roundsStarted = 0;
  /** The round count when the trainer last picked a scenario themselves. */
  let chosenFor = -1;

  // ---- the setup form ----
  const scenarioSelect = h("select", { id: "plan-scenario", name: "scenario" });
  const channelRadios = ["chat", "spoken"].map((c) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "channel", value: c, checked: (saved.channel ?? "chat") === c }),
    c === "chat" ? " Chat in the app" : " Spoken aloud in the room"));
  const minuteInputs = Object.fromEntries(Object.keys(DEFAULT_MINUTES).map((k) => [k, h("input", {
    type: "number", id: `plan-${k}`, name: k, min: "0.5", max: String(MAX_PHASE_MINUTES), step: "0.5",
    value: String(saved.minutes?.[k] ?? DEFAULT_MINUTES[k]), inputmode: "decimal",
  })]));
  const oddRadios = [["bot", " Sells to the bot buyer"], ["observe", " Observes a pair"]].map(([v, label]) =>
    h("label", { class: "choice" },
      h("input", { type: "radio", name: "odd", value: v, checked: (saved.odd ?? "bot") === v }), label));
  const formStatus = h("p", { class: "form-status", id: "plan-status", role: "status" });
  const planBtn = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "plan-round" }, "Pair people");
  const form = h("form", { class: "plan-form", id: "plan-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "plan-scenario", class: "field-label" }, "Scenario"), scenarioSelect),
    h("fieldset", { class: "field" }, h("legend", { class: "field-label" }, "Channel"), h("div", { class: "choices" }, channelRadios)),
    h("fieldset", { class: "field" }, h("legend", { class: "field-label" }, "Timings (minutes)"),
      h("div", { class: "timings" },
        h("label", {}, "Read the brief", minuteInputs.briefing),
        h("label", {}, "Talk", minuteInputs.conversation),
        h("label", {}, "Recap", minuteInputs.recap))),
    h("fieldset", { class: "field" }, h("legend", { class: "field-label" }, "If one person is left over, they…"),
      h("div", { class: "choices" }, oddRadios)),
    h("div", { class: "form-row" }, planBtn, formStatus));

  scenarioSelect.addEventListener("change", () => { chosenFor = roundsStarted; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const timings = {};
    const minutes = {};
    for (const [k, input] of Object.entries(minuteInputs)) {
      const m = Number(input.value);
      if (!Number.isFinite(m) || m <= 0 || m > MAX_PHASE_MINUTES) {
        formStatus.textContent = `Each phase lasts between half a minute and ${MAX_PHASE_MINUTES} minutes.`;
        formStatus.className = "form-status is-error";
        input.focus();
        return;
      }
      minutes[k] = m;
      timings[k] = Math.round(m * 60);
    }
    const channel = form.querySelector('input[name="channel"]:checked')?.value ?? "chat";
    const odd = form.querySelector('input[name="odd"]:checked')?.value ?? "bot";
    const scenario = scenarioSelect.value;
    saveSetup({ scenario, channel, odd, minutes });
    const msg = { type: "plan_round", channel, timings, odd };
    if (scenario !== RANDOM) msg.scenario = scenario;
    formStatus.className = "form-status";
    formStatus.textContent = ctx.send(msg) ? "Pairing…" : "";
  });

  // ---- the plan ----
  const planArea = h("div", { class: "plan-area", id: "plan-area" });
  const startBtn = h("button", {
    type: "button", class: "btn btn-primary btn-xl", id: "start-round", disabled: true,
    on: { click: () => { if (ctx.send({ type: "start_round" })) startBtn.disabled = true; } },
  }, "Start round");

  const runningNote = h("p", { class: "callout", id: "round-running", hidden: true });
  const el = h("section", { class: "card plan-panel", "aria-labelledby": "plan-h" },
    h("h2", { id: "plan-h" }, "Next round"),
    runningNote, form, planArea);

  function fillScenarios() {
    const list = ctx.scenarios();
    const want = scenarioSelect.value || saved.scenario;
    replace(scenarioSelect,
      list.map((s) => h("option", { value: s.id }, `${s.title} (${DIFFICULTY_LABEL[s.difficulty] ?? s.difficulty})`)),
      h("option", { value: RANDOM }, "For each pair, one neither of them has played"));
    const ids = list.map((s) => s.id);
    scenarioSelect.value = roundsStarted > 0 && chosenFor !== roundsStarted
      ? RANDOM
      : want === RANDOM || ids.includes(want) ? want : (ids[0] ?? RANDOM);
  }

  const nameOf = (id) => members.find((m) => m.id === id)?.name ?? `#${id}`;

  /** Where `id` sits in `pairs`: { pair, slot, index } or null. */
  function seatOf(pairs, id) {
    for (let i = 0; i < pairs.length; i += 1) {
      const p = pairs[i];
      if (p.seller === id) return { pair: i, slot: "seller" };
      if (p.buyer === id) return { pair: i, slot: "buyer" };
      const k = p.observers.indexOf(id);
      if (k >= 0) return { pair: i, slot: "observer", index: k };
    }
    return null;
  }

  function getSeat(pairs, seat) {
    const p = pairs[seat.pair];
    return seat.slot === "observer" ? p.observers[seat.index] : p[seat.slot];
  }

  function setSeat(pairs, seat, who) {
    const p = pairs[seat.pair];
    if (seat.slot === "observer") p.observers[seat.index] = who;
    else p[seat.slot] = who;
  }

  /** Puts `who` (a person or null for the bot) in `target`; whoever sat there moves to
   * `who`'s old seat, or sits out. Leaves no empty seller seat and no empty observer. */
  function place(pairs, target, who) {
    const next = structuredClone(pairs);
    const previous = getSeat(next, target);
    const from = who === null ? null : seatOf(next, who);
    setSeat(next, target, who);
    if (from) setSeat(next, from, previous);
    return tidy(next);
  }

  function tidy(pairs) {
    const out = [];
    for (const p of pairs) {
      p.observers = p.observers.filter((o) => o !== null && o !== undefined);
      if (p.seller === null || p.seller === undefined) {
        if (p.buyer === null || p.buyer === undefined) continue;
        p.seller = p.buyer;
        p.buyer = null;
      }
      out.push(p);
    }
    return out;
  }

  function commit(pairs) {
    plan = { ...plan, pairs };
    renderPlan();
    ctx.send({ type: "set_pairs", pairs });
  }

  function personSelect(pairs, seat, { allowBot = false, label }) {
    const current = getSeat(pairs, seat);
    const select = h("select", { class: "seat-select", "aria-label": label, dataset: { slot: seat.slot, pair: String(seat.pair) } },
      allowBot ? h("option", { value: BOT, selected: current === null }, "Bot buyer") : null,
      members.map((m) => {
        const where = seatOf(pairs, m.id);
        const note = !where ? " (sits out)" : m.connected ? "" : " (offline)";
        return h("option", { value: String(m.id), selected: current === m.id }, `${m.name}${note}`);
      }));
    select.addEventListener("change", () => {
      const who = select.value === BOT ? null : Number(select.value);
      commit(place(pairs, seat, who));
    });
    return select;
  }

  function scenarioSelectFor(pairs, i) {
    const select = h("select", { class: "pair-scenario", "aria-label": `Scenario for pair ${i + 1}` },
      ctx.scenarios().map((s) => h("option", { value: s.id, selected: s.id === pairs[i].scenario }, s.title)));
    select.addEventListener("change", () => {
      const next = structuredClone(pairs);
      next[i].scenario = select.value;
      commit(next);
    });
    return select;
  }

  function pairRow(pairs, i, sittingOut) {
    const p = pairs[i];
    const observers = p.observers.map((o, k) => h("li", { class: "observer-seat" },
      personSelect(pairs, { pair: i, slot: "observer", index: k }, { label: `Observer ${k + 1} of pair ${i + 1}` }),
      h("button", {
        type: "button", class: "btn btn-small", "aria-label": `Take ${nameOf(o)} off this pair`,
        on: { click: () => { const next = structuredClone(pairs); next[i].observers.splice(k, 1); commit(next); } },
      }, "✕")));
    const addObserver = sittingOut.length
      ? h("select", { class: "add-observer", "aria-label": `Add an observer to pair ${i + 1}` },
        h("option", { value: "" }, "+ Add an observer…"),
        sittingOut.map((m) => h("option", { value: String(m.id) }, m.name)))
      : null;
    addObserver?.addEventListener("change", () => {
      if (!addObserver.value) return;
      const next = structuredClone(pairs);
      next[i].observers.push(Number(addObserver.value));
      commit(next);
    });
    return h("li", { class: "plan-pair", dataset: { pair: String(i) } },
      h("div", { class: "plan-pair-head" },
        h("span", { class: "pair-number" }, `Pair ${i + 1}`),
        scenarioSelectFor(pairs, i),
        h("button", {
          type: "button", class: "btn btn-small", dataset: { action: "swap" }, disabled: p.buyer === null,
          title: p.buyer === null ? "The bot buyer cannot sell" : "Swap seller and buyer",
          on: { click: () => { const next = structuredClone(pairs); [next[i].seller, next[i].buyer] = [p.buyer, p.seller]; commit(next); } },
        }, "⇄ Swap roles"),
        h("button", {
          type: "button", class: "btn btn-small", dataset: { action: "drop" },
          on: { click: () => { const next = structuredClone(pairs); next.splice(i, 1); commit(next); } },
        }, "Drop pair")),
      h("div", { class: "plan-seats" },
        h("label", { class: "seat seat-seller" }, h("span", { class: "seat-role" }, "Seller"),
          personSelect(pairs, { pair: i, slot: "seller" }, { label: `Seller of pair ${i + 1}` })),
        h("label", { class: "seat seat-buyer" }, h("span", { class: "seat-role" }, "Buyer"),
          personSelect(pairs, { pair: i, slot: "buyer" }, { allowBot: true, label: `Buyer of pair ${i + 1}` })),
        p.observers.length || addObserver
          ? h("div", { class: "seat seat-observers" }, h("span", { class: "seat-role" }, "Observers"),
            h("ul", { class: "observer-list" }, observers), addObserver)
          : null));
  }

  function renderPlan() {
    if (!plan) {
      replace(planArea, roundsStarted === 0 && members.length < 2
        ? h("p", { class: "muted" }, "Pair people once at least two have joined.")
        : null);
      startBtn.disabled = true;
      planBtn.textContent = "Pair people";
      return;
    }
    planBtn.textContent = "Pair again";
    const pairs = plan.pairs;
    const placed = new Set(pairs.flatMap((p) => [p.seller, p.buyer, ...p.observers]));
    const sittingOut = members.filter((m) => m.connected && !placed.has(m.id));
    const addPair = sittingOut.length
      ? h("button", {
        type: "button", class: "btn btn-small", id: "add-pair",
        on: {
          click: () => {
            const scenario = pairs[0]?.scenario ?? ctx.scenarios()[0]?.id;
            commit([...structuredClone(pairs), {
              seller: sittingOut[0].id, buyer: sittingOut[1]?.id ?? null, observers: [], scenario,
            }]);
          },
        },
      }, "+ Add a pair from those sitting out")
      : null;
    const t = plan.timings;
    replace(planArea,
      h("div", { class: "plan-summary" },
        h("h3", {}, `Round ${plan.round}: ${pairs.length} ${pairs.length === 1 ? "pair" : "pairs"}`),
        h("p", { class: "muted" },
          `${CHANNEL_LABEL[plan.channel] ?? plan.channel} · read ${minutes(t.briefing)}, talk ${minutes(t.conversation)}, recap ${minutes(t.recap)}`)),
      plan.warnings.length
        ? h("ul", { class: "warnings", id: "plan-warnings", "aria-label": "Things to check" },
          plan.warnings.map((w) => h("li", {}, h("span", { class: "warn-icon", "aria-hidden": "true" }, "⚠ "), w)))
        : null,
      h("ol", { class: "plan-pairs", id: "plan-pairs" }, pairs.map((_, i) => pairRow(pairs, i, sittingOut))),
      sittingOut.length
        ? h("p", { class: "sitting-out" }, h("strong", {}, "Sitting out: "), sittingOut.map((m) => m.name).join(", "), " ", addPair)
        : null,
      h("div", { class: "start-row" }, startBtn,
        h("p", { class: "muted" }, "Everyone's screen moves to their brief at once.")));
    startBtn.disabled = running || pairs.length === 0;
    startBtn.textContent = `Start round ${plan.round}`;
  }

  fillScenarios();
  renderPlan();

  return {
    el,
    scenariosChanged: fillScenarios,
    /** The server refused a plan action: say so by the form. */
    refused(text) {
      formStatus.className = "form-status is-error";
      formStatus.textContent = text;
      plan = serverPlan ? structuredClone(serverPlan) : null;
      renderPlan();
    },
    /**
     * @param {object} state the console state
     * @param {boolean} isRunning a round is still being played
     */
    update(state, isRunning) {
      const key = JSON.stringify([state.plan, state.participants.map((m) => [m.id, m.name, m.connected]), isRunning]);
      members = state.participants;
      if (state.rounds_started !== roundsStarted) {
        roundsStarted = state.rounds_started;
        fillScenarios();
      }
      running = isRunning;
      planBtn.disabled = running;
      form.querySelectorAll("input, select").forEach((i) => { i.disabled = running; });
      runningNote.hidden = !running;
      runningNote.textContent = running
        ? `Round ${roundsStarted} is being played. Plan the next one when every pair has finished (or end it from the live view).`
        : "";
      if (key === planKey) return;
      if (!formStatus.classList.contains("is-error")) formStatus.textContent = "";
      planKey = key;
      serverPlan = state.plan;
      plan = state.plan ? structuredClone(state.plan) : null;
      renderPlan();
    },
  };
}

function minutes(secs) {
  const m = secs / 60;
  return Number.isInteger(m) ? `${m} min` : `${m.toFixed(1)} min`;
}
