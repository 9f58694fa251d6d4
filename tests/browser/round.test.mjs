// Browser test: two trainees, Ana on a desktop and Ben on a phone, play a full round in
// Debian's Chromium through the real server binary. Ana makes a private link, Ben opens
// it, they chat (including a message that would run script if rendered as HTML), the
// buyer marks two facts revealed, the seller ends the conversation and writes a recap,
// the buyer rates how heard they felt, and both must see the same debrief headline.
// Screenshots go to artifacts/ at the repository root.
//
// Run: cd tests/browser && npm ci && node --test   (see harness.mjs for the env vars)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  DESKTOP, PHONE, artifacts, newPage, startServerAndBrowser, stopServerAndBrowser, withProblems,
} from "./harness.mjs";

const SCENARIO_ID = "distributor-inventory";
const XSS = "<img src=x onerror=alert(1)>";

let server;
let baseUrl;
let browser;

before(async () => {
  ({ server, baseUrl, browser } = await startServerAndBrowser());
});

after(() => stopServerAndBrowser(server, browser));

async function enterName(page, name, next = "#screen-lobby") {
  await page.locator("#name-input").fill(name);
  await page.locator("#name-submit").click();
  await page.locator(next).waitFor();
}

/** On a phone the conversation shows one panel at a time; open the wanted tab if there are tabs. */
async function openTab(page, tab) {
  const button = page.locator(`#room-tabs [data-tab="${tab}"]`);
  if (await button.isVisible()) await button.click();
}

async function say(page, text) {
  await openTab(page, "chat");
  const input = page.locator("#chat-input");
  await input.fill(text);
  await input.press("Enter");
  await page.locator("#chat-log .msg.mine .msg-text", { hasText: text }).last().waitFor();
}

async function waitForLine(page, text) {
  await page.locator("#chat-log .msg-text").filter({ hasText: text }).first().waitFor();
}

test("two trainees play a full round through a private link and see the same debrief", { timeout: 180_000 }, async () => {
  const problems = [];
  await withProblems(problems, () => playRound(problems));
});

async function playRound(problems) {
  const ana = await newPage(browser, "Ana", DESKTOP, problems);
  const ben = await newPage(browser, "Ben", PHONE, problems);

  // Ana: name, lobby, pick the scenario, make a private link.
  await ana.goto(`${baseUrl}/`);
  await enterName(ana, "Ana");
  assert.equal(await ana.locator("#my-name").textContent(), "Ana");
  await ana.locator("#scenario-select").selectOption(SCENARIO_ID);
  await ana.locator("#create-link").click();
  const link = await ana.locator("#pair-url").inputValue();
  assert.match(link, new RegExp(`^${baseUrl}/\\?pair=[A-Z0-9]{6}$`), "the private link is a full URL");
  const code = (await ana.locator("#pair-code").textContent()).trim();
  assert.ok(link.endsWith(code), "the code shown is the one in the link");
  await ana.screenshot({ path: path.join(artifacts, "lobby-link-desktop.png") });

  // Ben opens the link on his phone and enters his name.
  await ben.goto(link);
  await ben.locator(".callout", { hasText: "invited you" }).waitFor();
  await ben.screenshot({ path: path.join(artifacts, "name-phone.png") });
  await enterName(ben, "Ben", "#room");

  // Both are in the room, in opposite roles, on the chosen scenario, with each other.
  await ana.locator("#room").waitFor();
  const anaRole = await ana.locator("#role-badge").getAttribute("data-role");
  const benRole = await ben.locator("#role-badge").getAttribute("data-role");
  assert.deepEqual([anaRole, benRole].sort(), ["buyer", "seller"]);
  const seller = anaRole === "seller" ? ana : ben;
  const buyer = anaRole === "buyer" ? ana : ben;
  const buyerName = buyer === ana ? "Ana" : "Ben";
  assert.equal(await ana.locator("#partner-name").textContent(), "Ben");
  assert.equal(await ben.locator("#partner-name").textContent(), "Ana");
  const title = await ana.locator("#scenario-title").textContent();
  assert.match(title, /distributor/i, "the scenario from the link is the one played");
  assert.equal(await ben.locator("#scenario-title").textContent(), title);

  // The seller's page holds no hidden fact; the buyer's shows the cards and the opening line.
  assert.equal(await seller.locator(".fact-card").count(), 0, "the seller sees no fact cards");
  const sellerText = await seller.locator("body").textContent();
  assert.ok(!/third depot/i.test(sellerText), "the seller's page never shows a hidden fact");
  const cards = buyer.locator("#panel-facts .fact-card");
  assert.ok((await cards.count()) >= 3, "the buyer sees the hidden story");
  assert.ok((await buyer.locator('.fact-card[data-state="locked"]').count()) >= 1,
    "a fact that needs another first is shown locked");
  const openingLine = (await buyer.locator("#opening-line").textContent()).trim();
  await ana.screenshot({ path: path.join(artifacts, "briefing-desktop.png") });
  await ben.screenshot({ path: path.join(artifacts, "briefing-phone.png") });

  // Both ready: the conversation begins and the timer runs.
  await ana.locator("#ready-btn").click();
  await ana.locator("#ready-bar", { hasText: "Waiting for Ben" }).waitFor();
  await ben.locator("#partner-ready", { hasText: "Ana is ready" }).waitFor();
  await ben.locator("#ready-btn").click();
  await ana.locator('#room[data-phase="conversation"]').waitFor();
  await ben.locator('#room[data-phase="conversation"]').waitFor();
  assert.match(await ana.locator("#timer").textContent(), /^\d+:\d\d$/);

  // The chat: the buyer's opening line, questions, and a line that is markup.
  await openTab(buyer, "chat");
  await buyer.locator("#use-opening").click();
  assert.equal(await buyer.locator("#chat-input").inputValue(), openingLine);
  await buyer.locator("#chat-input").press("Enter");
  await waitForLine(seller, openingLine.slice(0, 30));
  await say(seller, "Thanks for making the time. How are things going in the warehouse at the moment?");
  await say(seller, XSS);
  await waitForLine(buyer, XSS);
  await say(buyer, "The numbers in the system never match the shelves.");
  await say(seller, "What would you like the business to look like in two years?");
  await waitForLine(buyer, "two years");
  for (const page of [ana, ben]) {
    await openTab(page, "chat");
    const shown = page.locator("#chat-log .msg-text").filter({ hasText: XSS });
    assert.equal(await shown.first().textContent(), XSS, "markup in a chat line shows as literal text");
    assert.equal(await page.locator("#chat-log img").count(), 0, "no element is made from chat text");
  }
  assert.match(await ben.locator("#chat-input").getAttribute("maxlength"), /^2000$/);

  // The buyer marks two facts revealed: the first two that need no other fact first.
  await openTab(buyer, "side");
  const available = buyer.locator('#panel-facts .fact-card[data-state="available"]');
  const picked = [await available.nth(0).getAttribute("data-fact"), await available.nth(1).getAttribute("data-fact")];
  for (const fact of picked) {
    const card = buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"]`);
    await card.locator('[data-action="reveal"]').click();
    await buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"][data-state="revealed"]`).waitFor();
  }
  await buyer.locator("#facts-summary", { hasText: /^2 of \d+ revealed$/ }).waitFor();

  // The seller's private notes are saved on the server as they type.
  await openTab(seller, "side");
  await seller.locator("#notes-input").fill("Stock counts off; third depot? Who decides?");
  await seller.locator("#notes-status", { hasText: /^Saved$/ }).waitFor();

  // Screenshots of the room in the conversation, at both widths.
  if (buyer === ben) await ben.screenshot({ path: path.join(artifacts, "room-phone-facts.png") });
  await openTab(ben, "chat");
  await ben.screenshot({ path: path.join(artifacts, "room-phone.png") });
  await ana.screenshot({ path: path.join(artifacts, "room-desktop.png") });

  // The seller ends the conversation (with a confirmation step).
  await openTab(seller, "chat");
  await seller.locator("#end-conversation").click();
  await seller.locator("#end-confirm").click();
  await ana.locator('#room[data-phase="recap"]').waitFor();
  await ben.locator('#room[data-phase="recap"]').waitFor();

  // Recap and feedback; each waits for the other.
  await seller.locator("#recap-input").fill(
    "Glen's stock counts are inaccurate, so staff count by hand every week. He wants to open a third depot.");
  await seller.locator("#recap-submit").click();
  await seller.locator("#recap-submitted", { hasText: "Waiting for" }).waitFor();
  await buyer.locator("#partner-submitted", { hasText: "sent their recap" }).waitFor();
  await buyer.screenshot({ path: path.join(artifacts, `recap-${buyer === ben ? "phone" : "desktop"}-buyer.png`) });
  await buyer.locator('.heard-option:has(input[value="4"])').click();
  await buyer.locator("#feedback-comment").fill("Felt listened to once the questions turned to my plans.");
  await buyer.locator("#feedback-submit").click();

  // The debrief, the same on both pages.
  await ana.locator("#headline").waitFor();
  await ben.locator("#headline").waitFor();
  const headlineAna = await ana.locator("#headline").textContent();
  const headlineBen = await ben.locator("#headline").textContent();
  assert.match(headlineAna, /^Uncovered 2 of \d+ facts, \d+% of the story$/);
  assert.equal(headlineBen, headlineAna, "both trainees see the same headline");
  for (const page of [ana, ben]) {
    for (const fact of picked) {
      await page.locator(`#debrief-facts [data-fact="${fact}"][data-state="uncovered"]`).waitFor();
    }
    assert.equal(await page.locator('#debrief-facts [data-state="uncovered"]').count(), 2);
    assert.equal(await page.locator("#timeline .tl-reveal").count(), 2, "the timeline marks both reveals");
    assert.equal(await page.locator("#timeline .tl-msg").count(), await page.locator("#transcript .t-line").count(),
      "the timeline has a mark for every transcript line");
    assert.match(await page.locator("#heard-score").textContent(), /4\/5/);
    assert.equal(await page.locator("#transcript img").count(), 0);
    await page.locator("#transcript .t-text", { hasText: XSS }).waitFor();
  }
  assert.equal(await seller.locator("[data-judge]").count(), 0, "only the buyer judges the recap");

  // The buyer disagrees that the recap caught a fact; both pages are updated.
  const judged = picked[0];
  await buyer.locator(`#debrief-facts [data-fact="${judged}"] [data-judge="disagree"]`).click();
  for (const page of [ana, ben]) {
    await page.locator(`#debrief-facts [data-fact="${judged}"] .fact-recap`, { hasText: `${buyerName}, the buyer, decided: no, the recap missed it` }).waitFor();
  }

  // Screenshots of both debriefs (full page) at desktop width, and the phone one.
  await ben.screenshot({ path: path.join(artifacts, "debrief-phone.png"), fullPage: true });
  await ben.setViewportSize(DESKTOP);
  await seller.screenshot({ path: path.join(artifacts, "debrief-seller.png"), fullPage: true });
  await buyer.screenshot({ path: path.join(artifacts, "debrief-buyer.png"), fullPage: true });

  // Another round: back to the lobby.
  await seller.locator("#play-again").click();
  await seller.locator("#screen-lobby").waitFor();
  await buyer.locator(".notices", { hasText: "has left the debrief" }).waitFor();

  assert.deepEqual(problems, [], "no dialog opened and no script error happened");
  await ana.context().close();
  await ben.context().close();
}
