// Browser test: the reader's working in the debrief of a real bot round. A seller practises
// with the bot buyer (the server runs with --bot-instant), asks good questions and writes
// the recap in their own words; the debrief then shows, on each fact the reader matched
// with no buyer verdict, the label "matched automatically, not confirmed by the buyer"
// and the recap sentence quoted, a "why" disclosure with the reader's working that a
// keyboard can open, what each question was after (counts and a chip per transcript
// line), the "something else" wording, and the bot's trust point by point with what moved
// it. axe-core finds no critical or serious problem with the disclosures open, in light
// and dark colours.
//
// Screenshots go to artifacts/ as reader-<what>-<phone|laptop>.png (390×844, 1366×768).
//
// Run: cd tests/browser && npm ci && node --test reader.test.mjs

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import {
  artifacts, launchBrowser, newPage, startServer, stopServer, withProblems,
} from "./harness.mjs";

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve("axe-core/axe.min.js");
const SIZES = {
  phone: { width: 390, height: 844 },
  laptop: { width: 1366, height: 768 },
};
/** scoring::AUTOMATIC_NOTE */
const AUTOMATIC_NOTE = "matched automatically, not confirmed by the buyer";

/** Good questions: situation, goal, cost and who feels it, decision, concern, "something else". */
const QUESTIONS = [
  "Thanks for making time, Glen. How do you keep track of what's actually on the shelves today?",
  "Where would you like the business to be in a couple of years?",
  "What does the stock trouble actually cost you? Who feels it when the numbers are wrong?",
  "Who else would be involved in a decision like this?",
  "What worries you about changing how you do things?",
  "Is there something else on your mind that we haven't covered?",
];
/** The seller's recap, in their own words: none of the scenario's cue words. */
const RECAP = "You'd like to open another warehouse by the sea in the next couple of years. "
  + "Your son will run operations from January, so he must be happy with any choice. "
  + "The last software rollout dragged on for a year and a half.";

let server;
let baseUrl;
let browser;
/** The debrief the server sent in the first test, for the second. */
let played = null;

before(async () => {
  const started = await startServer({ args: ["--bot-instant"] });
  server = started.child;
  baseUrl = started.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopServer(server);
});

/** axe-core's critical and serious violations on the page as it stands. */
async function axeProblems(page, label) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${label}: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 6).map((n) => {
      const d = n.any[0]?.data;
      const colours = d?.fgColor ? ` (${d.fgColor} on ${d.bgColor}, ${d.contrastRatio}:1)` : "";
      return `${n.target.join(" ")}${colours}`;
    }).join("\n    ")}`);
}

/** Plays a whole bot round as the seller and waits for the debrief. */
async function playBotRound(page) {
  await page.goto(`${baseUrl}/`);
  await page.locator("#name-input").fill("Robin");
  await page.locator("#name-submit").click();
  await page.locator("#scenario-select").selectOption("distributor-inventory");
  await page.locator("#practise-bot").click();
  await page.locator("#room").waitFor();
  await page.locator("#ready-btn").click();
  await page.locator('#room[data-phase="conversation"]').waitFor();
  const input = page.locator("#chat-input");
  for (const [i, q] of QUESTIONS.entries()) {
    await input.fill(q);
    await input.press("Enter");
    // The bot's opening line is the first of its messages; each question gets one reply.
    await page.locator("#chat-log .msg.theirs").nth(i + 1).waitFor();
  }
  await page.locator("#end-conversation").click();
  await page.locator("#end-confirm").click();
  await page.locator("#recap-input").fill(RECAP);
  await page.locator("#recap-submit").click();
  await page.locator("#headline").waitFor();
}

test("the debrief of a bot round shows the reader's matches, its working, question aims and trust causes", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const page = await newPage(browser, "Robin", SIZES.laptop, problems);
    page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => {
      if (typeof payload !== "string" || !payload.includes('"debrief"')) return;
      try {
        const msg = JSON.parse(payload);
        if (msg.type === "debrief") played = msg;
      } catch { /* not JSON: not ours */ }
    }));
    await playBotRound(page);

    // The captured figure says it rests on the reader.
    assert.match(await page.locator("#captured").textContent(), new RegExp(`\\(${AUTOMATIC_NOTE}\\)`));

    // Fact cards: the label, the recap sentence quoted, and a "why" disclosure.
    const auto = page.locator("#debrief-facts [data-fact]:has(.auto-label)");
    const autoCount = await auto.count();
    assert.ok(autoCount >= 2, `at least two facts matched by meaning (got ${autoCount})`);
    for (let i = 0; i < autoCount; i += 1) {
      const card = auto.nth(i);
      const id = await card.getAttribute("data-fact");
      assert.equal((await card.locator(".auto-label").textContent()).trim().replace(/^≈\s*/, ""),
        "Matched automatically, not confirmed by the buyer");
      assert.ok(await card.locator(".auto-label").isVisible(), `${id}: the label is visible`);
      const quoted = (await card.locator(".fact-recap q.recap-sentence").first().textContent()).trim();
      assert.ok(quoted.length > 10 && RECAP.includes(quoted), `${id}: quotes a recap sentence, got “${quoted}”`);
      assert.match(await card.locator(".fact-recap strong").textContent(), /^In the recap/);
      const why = card.locator("details.why");
      assert.equal(await why.count(), 1, `${id}: has a why disclosure`);
      assert.equal(await why.evaluate((d) => d.open), false, `${id}: the working starts folded`);
    }
    // No label where the buyer's verdict or no match stands.
    for (const card of await page.locator("#debrief-facts [data-fact]:not(:has(.auto-label))").all()) {
      assert.doesNotMatch(await card.locator(".fact-recap strong").textContent(), /^In the recap/);
    }

    // The why disclosure opens from the keyboard and shows the recap and earning readings.
    const first = auto.first();
    const summary = first.locator("details.why > summary");
    assert.ok(await summary.evaluate((s) => s.tabIndex >= 0), "the summary is in the tab order");
    await summary.focus();
    await page.keyboard.press("Enter");
    assert.equal(await first.locator("details.why").evaluate((d) => d.open), true, "Enter opens the working");
    const working = await first.locator(".why-body").textContent();
    assert.match(working, /The recap.*is closest to.*needs/s, "the recap reading is shown");
    assert.match(working, /The message that earned it.*closest to/s, "the earning reading is shown");
    await first.screenshot({ path: path.join(artifacts, "reader-fact-card-laptop.png") });

    // Question aims: counts, one chip per question sentence in the transcript, "something else".
    const aims = page.locator("#question-aims");
    await aims.waitFor();
    const counted = await aims.locator(".aim-count").evaluateAll((els) => els.map((e) => e.dataset.aim));
    for (const aim of ["goal", "decision", "concern"]) assert.ok(counted.includes(aim), `counts ${aim} questions (${counted})`);
    const chips = await page.locator("#transcript .t-line.from-seller .chip-aim").allTextContents();
    assert.ok(chips.length >= QUESTIONS.length - 1, `a chip per question (${chips})`);
    assert.ok(chips.some((c) => /Goal/.test(c)));
    assert.equal(await page.locator("#line-3 .chip-aim").first().textContent(), "Asked about: Goal");
    assert.match(await page.locator("#line-11 .t-who").textContent(), /Something else\? \(open\)/);
    assert.match(await page.locator("#behaviour-figures").textContent(), /message 12, worded “something else”/);
    assert.match(await page.locator("#behaviour-notes").textContent(), /What the questions were after/);
    assert.doesNotMatch(await page.locator("#behaviour-notes").textContent(), /question_aims/);
    await page.locator("#question-aims details > summary").click();
    assert.ok(await page.locator("#question-aims .aim-item").count() >= QUESTIONS.length);

    // The bot's trust: a dot per read seller line with a tooltip, and the same in words.
    const dots = page.locator("#timeline .tl-trust-point");
    assert.equal(await dots.count(), QUESTIONS.length, "a trust point per seller message");
    assert.match(await dots.nth(1).locator("title").textContent(), /asked about goals \(\+\d+\)/);
    const steps = page.locator("#trust-steps");
    await steps.locator("summary").focus();
    await page.keyboard.press("Enter");
    assert.equal(await steps.evaluate((d) => d.open), true);
    const goalStep = steps.locator('.trust-step[data-index="3"]');
    assert.match(await goalStep.locator(".trust-causes").textContent(), /asked about goals/);
    assert.match(await goalStep.locator(".reading").textContent(), /How the bot read it: asked for “Grow to third site”/);
    await page.locator(".timeline-figure").screenshot({ path: path.join(artifacts, "reader-timeline-laptop.png") });

    // Nothing that arrived as text was parsed as markup.
    assert.equal(await page.locator("#screen-debrief script, #screen-debrief img").count(), 0);

    // Open every disclosure so axe checks what is inside them too.
    await page.evaluate(() => { for (const d of document.querySelectorAll("details")) d.open = true; });
    const found = await axeProblems(page, "debrief, laptop, light");
    await page.screenshot({ path: path.join(artifacts, "reader-debrief-laptop.png"), fullPage: true });

    await page.setViewportSize(SIZES.phone);
    await page.waitForTimeout(150);
    found.push(...await axeProblems(page, "debrief, phone, light"));
    await page.screenshot({ path: path.join(artifacts, "reader-debrief-phone.png"), fullPage: true });
    await first.scrollIntoViewIfNeeded();
    await first.screenshot({ path: path.join(artifacts, "reader-fact-card-phone.png") });
    await page.locator("#trust-steps").screenshot({ path: path.join(artifacts, "reader-trust-steps-phone.png") });
    await page.locator("#question-aims").screenshot({ path: path.join(artifacts, "reader-question-aims-phone.png") });
    await page.locator("#line-5").screenshot({ path: path.join(artifacts, "reader-transcript-line-phone.png") });

    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(150);
    found.push(...await axeProblems(page, "debrief, phone, dark"));
    await page.setViewportSize(SIZES.laptop);
    await page.waitForTimeout(150);
    found.push(...await axeProblems(page, "debrief, laptop, dark"));
    await first.screenshot({ path: path.join(artifacts, "reader-fact-card-laptop-dark.png") });
    assert.deepEqual(found, []);
    assert.deepEqual(problems, []);
  });
});

test("a buyer's verdict replaces the automatic label, and the reader's text is never markup", async () => {
  assert.ok(played, "the first test recorded the debrief");
  const problems = [];
  await withProblems(problems, async () => {
    const d = structuredClone(played);
    const autoFacts = d.facts.filter((f) => f.captured_automatically);
    assert.ok(autoFacts.length >= 2);
    // The buyer confirms one match and rejects another.
    const [yes, no] = autoFacts;
    Object.assign(yes, { buyer_judgement: true, captured: true, captured_automatically: false });
    Object.assign(no, { buyer_judgement: false, captured: false, captured_automatically: false });
    // Whatever the reader quotes goes in as text.
    yes.recap_reading = '<img src=x onerror="window.__pwned=1"> is closest to';
    const page = await newPage(browser, "buyer", SIZES.laptop, problems);
    await page.goto(`${baseUrl}/`);
    await page.locator("#screen-name").waitFor();
    await page.evaluate(async (debrief) => {
      const { debriefView } = await import("/debrief.js");
      const view = debriefView({ role: "buyer", send: () => true, onAgain: () => {} });
      document.getElementById("app").replaceChildren(view.el);
      view.render(debrief);
    }, d);
    await page.locator("#headline").waitFor();
    const yesCard = page.locator(`#debrief-facts [data-fact="${yes.id}"]`);
    const noCard = page.locator(`#debrief-facts [data-fact="${no.id}"]`);
    assert.equal(await yesCard.locator(".auto-label").count(), 0, "a confirmed match is not automatic");
    assert.match(await yesCard.locator(".fact-recap").textContent(), /decided: yes/);
    assert.equal(await noCard.locator(".auto-label").count(), 0);
    assert.match(await noCard.locator(".fact-recap").textContent(), /^Not in the recap \(the reader had matched .+\)\. .*decided: no/);
    assert.equal(await page.locator("#debrief-facts .auto-label").count(), autoFacts.length - 2);
    await yesCard.locator("details.why > summary").click();
    assert.match(await yesCard.locator(".why-body").textContent(), /<img src=x/);
    assert.equal(await page.locator("#screen-debrief img").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned ?? null), null);
    assert.deepEqual(problems, []);
  });
});
