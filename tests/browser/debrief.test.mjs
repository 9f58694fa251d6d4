// Browser test: the debrief page drawn from a recorded bot round (fixtures/bot-debrief.json),
// checking the timeline picture shows what a trainee needs to read the round: a mark per
// message, seller questions apart, a labelled marker per reveal, the first pitch, and the
// bot's trust line; and that a spoken round (no transcript) still draws a debrief.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DESKTOP, PHONE, artifacts, newPage, startServerAndBrowser, stopServerAndBrowser, withProblems,
} from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const botDebrief = JSON.parse(readFileSync(path.join(here, "fixtures/bot-debrief.json"), "utf8"));

let server;
let baseUrl;
let browser;

before(async () => {
  ({ server, baseUrl, browser } = await startServerAndBrowser());
});

after(() => stopServerAndBrowser(server, browser));

/** Opens the page from the server and shows `debrief` with the page's own debrief module. */
async function showDebrief(page, debrief, role) {
  await page.goto(`${baseUrl}/`);
  await page.locator("#screen-name").waitFor();
  await page.evaluate(async ([d, r]) => {
    const { debriefView } = await import("/debrief.js");
    const view = debriefView({ role: r, send: () => true, onAgain: () => {} });
    document.getElementById("app").replaceChildren(view.el);
    view.render(d);
  }, [debrief, role]);
  await page.locator("#headline").waitFor();
}

test("the timeline shows every message, question, reveal, the first pitch and the bot's trust", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const page = await newPage(browser, "desktop", DESKTOP, problems);
    await showDebrief(page, botDebrief, "seller");
    const d = botDebrief;
    assert.equal(await page.locator("#headline").textContent(), d.headline.text);
    assert.equal(await page.locator("#timeline .tl-msg").count(), d.transcript.length);
    assert.equal(await page.locator("#timeline .tl-question").count(), d.behaviour.questions.length);
    // "Is there anything else…?" is drawn as the open invitation it is.
    const drawnOpen = new Set([...d.behaviour.open_questions, ...d.behaviour.anything_else.filter((i) => d.behaviour.questions.includes(i))]);
    assert.equal(await page.locator("#timeline .tl-open").count(), drawnOpen.size);
    assert.ok(d.behaviour.anything_else.every((i) => !d.behaviour.open_questions.includes(i)), "the fixture's anything-else line is closed by the figures");
    const revealed = d.facts.filter((f) => f.uncovered);
    assert.equal(await page.locator("#timeline .tl-reveal").count(), revealed.length);
    for (const f of revealed) {
      const label = await page.locator(`#timeline .tl-reveal[data-fact="${f.id}"] .tl-marker-label`).textContent();
      assert.ok(label.length > 3, `reveal of ${f.id} is labelled`);
    }
    assert.match(await page.locator("#timeline .tl-pitch .tl-marker-label").textContent(), /StockLine/);
    // Reveal labels are whole fact names, not cut short.
    for (const label of await page.locator("#timeline .tl-reveal .tl-marker-label").allTextContents()) {
      assert.ok(!label.endsWith("…"), `“${label}” is cut short`);
    }
    assert.equal(await page.locator("#timeline .tl-trust").count(), 1, "bot rounds draw the trust line");
    assert.match(await page.locator(".legend").textContent(), /trust/i);
    // A behaviour note names its figure in words, not as a field name.
    assert.ok(!(await page.locator("#behaviour-notes").textContent()).includes("_"));
    await page.screenshot({ path: path.join(artifacts, "debrief-bot-desktop.png"), fullPage: true });
    await page.locator("#timeline").screenshot({ path: path.join(artifacts, "debrief-bot-timeline.png") });

    const phone = await newPage(browser, "phone", PHONE, problems);
    await showDebrief(phone, botDebrief, "buyer");
    await phone.screenshot({ path: path.join(artifacts, "debrief-bot-phone.png") });
    assert.deepEqual(problems, []);
  });
});

test("a short conversation's axis still has three ticks", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const short = structuredClone(botDebrief);
    short.transcript = short.transcript.slice(0, 2).map((l, i) => ({ ...l, at_ms: i * 6000 }));
    short.conversation_ms = 12_000;
    for (const f of short.facts) {
      f.uncovered = false;
      f.at_ms = null;
      f.earned_by = null;
    }
    short.trust_curve = [];
    const page = await newPage(browser, "short", DESKTOP, problems);
    await showDebrief(page, short, "seller");
    assert.ok(await page.locator("#timeline .tl-axis-label").count() >= 3,
      `ticks: ${await page.locator("#timeline .tl-axis-label").allTextContents()}`);
    assert.deepEqual(problems, []);
  });
});

test("a spoken round's debrief has reveals on the timeline and says there is no transcript", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const spoken = structuredClone(botDebrief);
    spoken.channel = "spoken";
    spoken.transcript = [];
    spoken.trust_curve = [];
    spoken.behaviour = {
      ...spoken.behaviour,
      seller_words: 0, buyer_words: 0, seller_word_share: 0, questions: [], stacked_questions: [],
      open_questions: [], open_share: null, longest_monologue_words: 0, longest_monologue_from: null,
      longest_monologue_to: null, first_pitch: null, first_goal_question: null, first_problem_question: null,
      goals_before_problems: null, anything_else: [], name_drops: [], notes: [],
    };
    for (const f of spoken.facts) f.earned_by = null;
    const page = await newPage(browser, "spoken", DESKTOP, problems);
    await showDebrief(page, spoken, "buyer");
    assert.equal(await page.locator("#timeline .tl-msg").count(), 0);
    assert.equal(await page.locator("#timeline .tl-reveal").count(), spoken.facts.filter((f) => f.uncovered).length);
    assert.match(await page.locator("#tr-h + p").textContent(), /spoken/i);
    assert.ok(await page.locator("#timeline .tl-axis-label").count() >= 3, "the time axis has at least three ticks");
    assert.deepEqual(problems, []);
  });
});
