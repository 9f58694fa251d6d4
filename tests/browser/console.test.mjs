// Browser test: a trainer runs a workshop round from the console at /host while three
// trainees play on their own pages, all in Debian's Chromium against the real server.
// An unknown host link is refused; the trainer creates the workshop (and keeps a secret host link), the trainees join
// with the code, the trainer renames one, plans a round with the bot buyer for the odd one
// out, then overrides the plan so that person observes instead, swaps roles, and starts.
// From the live view the trainer ends the briefing, sees the pair's messages and uncovered
// share grow as the buyer reveals a fact, broadcasts, pauses and resumes, sees the pair
// flagged when the buyer's connection drops, and ends the remaining phases for everyone. The room debrief must show the same uncovered share as
// the trainees' own debrief, the leaderboard only when asked, and the exports must
// download. Screenshots of the join panel, the live view and the room debrief go to
// artifacts/ at the repository root.
//
// Run: cd tests/browser && npm ci && node --test   (see harness.mjs for the env vars)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  DESKTOP, PHONE, artifacts, newPage, startServerAndBrowser, stopServerAndBrowser, withProblems,
} from "./harness.mjs";

const SCENARIO_ID = "distributor-inventory";
const TITLE = "Tuesday discovery workshop";
/** A projector's common resolution. */
const PROJECTOR = { width: 1366, height: 900 };

let server;
let baseUrl;
let browser;

before(async () => {
  ({ server, baseUrl, browser } = await startServerAndBrowser());
});

after(() => stopServerAndBrowser(server, browser));

async function joinWorkshop(page, name, url) {
  await page.goto(url);
  await page.locator("#name-input").fill(name);
  await page.locator("#name-submit").click();
  await page.locator("#screen-session").waitFor();
}

/** On a phone the conversation shows one panel at a time; open the wanted tab if there are tabs. */
async function openTab(page, tab) {
  const button = page.locator(`#room-tabs [data-tab="${tab}"]`);
  if (await button.isVisible()) await button.click();
}

async function view(consolePage, id) {
  await consolePage.locator(`.tab-btn[data-view="${id}"]`).click();
  await consolePage.locator(`#pane-${id}`).waitFor();
}

test("a trainer runs a round from the console and the room debrief matches the trainees'", { timeout: 240_000 }, async () => {
  const problems = [];
  await withProblems(problems, () => runWorkshop(problems));
});

async function runWorkshop(problems) {
  const host = await newPage(browser, "Console", PROJECTOR, problems);

  // ---- a host link that this server does not know is refused, in words ----
  await host.goto(`${baseUrl}/host#${"0".repeat(32)}`);
  await host.locator("#screen-start .alert", { hasText: "not valid" }).waitFor();
  assert.equal(await host.evaluate(() => window.location.hash), "", "the wrong token leaves the address");

  // ---- create the workshop: the host link is kept in the address and on this device ----
  await host.locator("#session-title").fill(TITLE);
  await host.locator("#create-session").click();
  await host.locator("#join-code").waitFor();
  const code = (await host.locator("#join-code").textContent()).trim();
  assert.match(code, /^[A-Z0-9]{4,8}$/, "a short join code is shown");
  const token = await host.evaluate(() => localStorage.getItem("uncover.host_token"));
  assert.match(token, /^[0-9a-f]{32}$/, "the 128-bit host token is kept on this device");
  assert.equal(await host.evaluate(() => window.location.href), `${baseUrl}/host`, "and not in the projected address bar");
  // The secret host link is never on the projected Join view; it is shown on request elsewhere.
  assert.ok(await host.locator("#host-link-panel").isHidden());
  assert.equal(await host.locator("#console-title").textContent(), TITLE);

  // ---- the join panel: address, QR code, and the localhost warning ----
  assert.equal(await host.locator("#join-url").textContent(), `${baseUrl.replace(/^https?:\/\//, "")}/?join=${code}`);
  await host.locator("#join-qr:not([hidden])").waitFor();
  assert.ok(await host.locator("#join-qr").evaluate((img) => img.complete && img.naturalWidth > 0), "the QR code loaded");
  await host.locator("#localhost-hint", { hasText: `--bind 0.0.0.0:${new URL(baseUrl).port}` }).waitFor();
  await view(host, "lobby");
  await host.locator("#show-host-link").click();
  await host.locator("#host-link-panel").waitFor();
  assert.equal(await host.locator("#host-link").inputValue(), `${baseUrl}/host#${token}`);
  assert.match(await host.locator("#host-link-panel").textContent(), /Anyone with this link is the host/);
  await host.locator("#show-host-link").click();
  await host.locator("#host-link-panel").waitFor({ state: "hidden" });
  await view(host, "join");

  // ---- three trainees join with the code ----
  const pages = {
    Ana: await newPage(browser, "Ana", DESKTOP, problems),
    Ben: await newPage(browser, "Ben", PHONE, problems),
    Cleo: await newPage(browser, "Cleo", PHONE, problems),
  };
  for (const [name, page] of Object.entries(pages)) await joinWorkshop(page, name, `${baseUrl}/?join=${code}`);
  await host.locator("#names-wall .name-tile").nth(2).waitFor();
  assert.deepEqual((await host.locator("#names-wall .name-tile").allTextContents()).sort(), ["Ana", "Ben", "Cleo"]);
  await host.screenshot({ path: path.join(artifacts, "console-join.png") });

  // Full-screen join: the code alone fills the screen, and Escape brings the console back.
  await host.locator("#join-fullscreen").click();
  await host.locator("#join-panel.is-full").waitFor();
  await host.screenshot({ path: path.join(artifacts, "console-join-fullscreen.png") });
  await host.keyboard.press("Escape");
  await host.locator("#join-panel.is-full").waitFor({ state: "detached" });

  // ---- the lobby: rename Cleo; her own page follows ----
  await view(host, "lobby");
  await host.locator("#people .person").nth(2).waitFor();
  const cleoId = await host.locator("#people .person", { hasText: "Cleo" }).getAttribute("data-id");
  const cleoRow = host.locator(`#people .person[data-id="${cleoId}"]`);
  await cleoRow.locator('[data-action="rename"]').click();
  await cleoRow.locator(".rename-input").fill("Cleo M");
  await cleoRow.locator('button[type="submit"]').click();
  await host.locator("#people .person-name", { hasText: "Cleo M" }).waitFor();
  await pages.Cleo.locator("#my-name", { hasText: "Cleo M" }).waitFor();
  const names = { Ana: "Ana", Ben: "Ben", Cleo: "Cleo M" };

  // ---- plan with the bot buyer for the odd one out, then override ----
  await host.locator("#plan-scenario").selectOption(SCENARIO_ID);
  await host.locator('input[name="odd"][value="bot"]').check();
  assert.equal(await host.locator("#plan-conversation").inputValue(), "10", "talk time defaults to ten minutes");
  await host.locator("#plan-round").click();
  await host.locator("#plan-pairs .plan-pair").nth(1).waitFor();
  const botPair = host.locator("#plan-pairs .plan-pair").filter({
    has: host.locator('select[data-slot="buyer"] option[value="bot"]:checked'),
  });
  assert.equal(await botPair.count(), 1, "the odd one out sells to the bot buyer");
  const oddId = await botPair.locator('select[data-slot="seller"]').inputValue();
  await botPair.locator('[data-action="drop"]').click();
  await host.locator("#plan-pairs .plan-pair").nth(1).waitFor({ state: "detached" });
  await host.locator(".sitting-out").waitFor();
  await host.locator("#plan-pairs .add-observer").selectOption(oddId);
  await host.locator('#plan-pairs select[data-slot="observer"]').waitFor();
  assert.equal(await host.locator('#plan-pairs select[data-slot="observer"]').inputValue(), oddId);

  // Swap roles in the remaining pair; the server's plan must follow.
  const sellerBefore = await host.locator('#plan-pairs select[data-slot="seller"]').inputValue();
  const buyerBefore = await host.locator('#plan-pairs select[data-slot="buyer"]').inputValue();
  await host.locator('#plan-pairs [data-action="swap"]').click();
  await host.locator(`#plan-pairs select[data-slot="seller"] option[value="${buyerBefore}"]:checked`).waitFor({ state: "attached" });
  assert.equal(await host.locator('#plan-pairs select[data-slot="buyer"]').inputValue(), sellerBefore);
  await host.screenshot({ path: path.join(artifacts, "console-plan.png"), fullPage: true });

  // ---- start: the console moves to the live view, the trainees to their seats ----
  await host.locator("#start-round").click();
  await host.locator("#pane-live:not([hidden])").waitFor();
  const card = host.locator("#live-grid .live-card");
  await card.waitFor();
  const roles = {};
  for (const [name, page] of Object.entries(pages)) {
    await page.locator("#room").waitFor();
    roles[name] = await page.locator("#role-badge").getAttribute("data-role");
  }
  assert.deepEqual(Object.values(roles).sort(), ["buyer", "observer", "seller"]);
  const who = (role) => Object.keys(roles).find((n) => roles[n] === role);
  const seller = pages[who("seller")];
  const buyer = pages[who("buyer")];
  const observer = pages[who("observer")];
  assert.match(await card.locator(".who-seller").textContent(), new RegExp(names[who("seller")]));
  assert.match(await card.locator(".who-buyer").textContent(), new RegExp(names[who("buyer")]));
  assert.match(await card.locator(".live-meta").textContent(), new RegExp(`observed by ${names[who("observer")]}`));

  // End the briefing from the console.
  await card.locator('[data-action="end"]').click();
  await host.locator('#live-grid .live-card[data-phase="conversation"]').waitFor();
  await seller.locator('#room[data-phase="conversation"]').waitFor();
  await buyer.locator('#room[data-phase="conversation"]').waitFor();

  // The pair talks; the buyer reveals a fact; the card counts both.
  await openTab(buyer, "chat");
  await buyer.locator("#chat-input").fill("Thanks for coming over. Our stock numbers are a mess.");
  await buyer.locator("#chat-input").press("Enter");
  await openTab(seller, "chat");
  await seller.locator("#chat-input").fill("What would you like the business to look like in two years?");
  await seller.locator("#chat-input").press("Enter");
  await observer.locator("#chat-log .msg-text", { hasText: "two years" }).waitFor();
  await openTab(buyer, "side");
  const available = buyer.locator('#panel-facts .fact-card[data-state="available"]').first();
  const fact = await available.getAttribute("data-fact");
  await available.locator('[data-action="reveal"]').click();
  await buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"][data-state="revealed"]`).waitFor();
  await host.locator("#live-grid .live-card .messages", { hasText: "2" }).waitFor();
  await host.locator("#live-grid .live-card .uncovered-pct", { hasText: /^[1-9]\d*%$/ }).waitFor();
  assert.equal(await seller.locator(".fact-card").count(), 0, "the seller still sees no hidden fact");

  // A broadcast reaches every trainee at once.
  await host.locator("#broadcast-input").fill("Five minutes left: summarise what you heard.");
  await host.locator("#broadcast-send").click();
  for (const page of Object.values(pages)) {
    await page.locator("#broadcast-text", { hasText: "summarise what you heard" }).waitFor();
  }
  await host.locator("#sent-broadcasts li", { hasText: "summarise" }).waitFor();

  // Pause the pair from its card: the card and the trainees' clocks say so; then resume.
  await card.locator('[data-action="pause"]').click();
  await host.locator("#live-grid .live-card.is-paused .paused-tag").waitFor();
  await seller.locator("#timer.is-paused").waitFor();
  await host.locator("#live-grid").screenshot({ path: path.join(artifacts, "console-live-paused.png") });
  await card.locator('[data-action="resume"]').click();
  await host.locator("#live-grid .live-card:not(.is-paused)").waitFor();
  await observer.locator("#observer-note-input").fill("Started from the buyer's goals.");
  await observer.locator("#observer-note-add").click();
  await observer.locator("#observer-notes li", { hasText: "buyer's goals" }).waitFor();
  await host.screenshot({ path: path.join(artifacts, "console-live.png") });

  // The buyer's connection drops: the card says so in words, not only in colour.
  const buyerName = names[who("buyer")];
  await buyer.context().close();
  await host.locator("#live-grid .live-card.is-alert .live-alert", { hasText: `Disconnected: ${buyerName}` }).waitFor();
  await host.locator("#live-summary", { hasText: "1 needs attention" }).waitFor();
  await host.locator("#live-grid").screenshot({ path: path.join(artifacts, "console-live-alert.png") });

  // End the conversations, then the round, for everyone (each asks for a second click).
  for (const [button, phase] of [["#end-conversations", "recap"], ["#end-round", "debrief"]]) {
    await host.locator(button).click();
    await host.locator(`${button}.is-confirming`).waitFor();
    await host.locator(button).click();
    await seller.locator(`#room[data-phase="${phase}"], #screen-debrief`).first().waitFor();
  }

  // ---- the room debrief: the console moves there once the last pair finishes ----
  await host.locator("#pane-results:not([hidden])").waitFor();
  const result = host.locator("#pair-results .pair-result");
  await result.waitFor();
  await seller.locator("#headline").waitFor();
  const headline = await seller.locator("#headline").textContent();
  const m = /^Uncovered (\d+) of (\d+) facts, (\d+)% of the story$/.exec(headline);
  assert.ok(m, `the trainee's headline reads as expected: ${headline}`);
  assert.equal(m[1], "1", "one fact was revealed");
  assert.equal(await result.locator(".pair-uncovered").textContent(), `${m[3]}%`, "the console shows the trainee's uncovered share");
  assert.equal(await result.locator(".seller-name").textContent(), names[who("seller")]);
  assert.equal(await host.locator("#round-average").textContent(), `${m[3]}%`, "one pair: the average is its share");
  assert.equal(await host.locator("#fact-tally .fact-tally").count(), Number(m[2]), "every fact of the story is tallied");
  await host.locator(`#fact-tally .fact-tally[data-fact="${fact}"] .tally-count`, { hasText: "1 of 1 seller" }).waitFor();
  assert.equal(await host.locator("#fact-tally .fact-tally").last().getAttribute("data-fact"), fact,
    "the only uncovered fact is listed last: most missed first");
  assert.equal(await host.locator("#leaderboard").count(), 0, "the leaderboard is off by default");
  await host.screenshot({ path: path.join(artifacts, "console-room-debrief.png"), fullPage: true });
  await host.locator("#theme-toggle").click();
  assert.equal(await host.evaluate(() => document.documentElement.dataset.theme), "dark");
  await host.screenshot({ path: path.join(artifacts, "console-room-debrief-dark.png"), fullPage: true });
  await host.locator("#leaderboard-toggle").click();
  await host.locator("#leaderboard li", { hasText: names[who("seller")] }).waitFor();
  await observer.locator("#obs-h + .note-list", { hasText: "buyer's goals" }).waitFor();

  // ---- exports download with the host token ----
  const [csv] = await Promise.all([host.waitForEvent("download"), host.locator("#export-participants").click()]);
  assert.match(csv.suggestedFilename(), /participants\.csv$/);
  const rows = (await readFile(await csv.path(), "utf8")).trim().split("\n");
  assert.match(rows[0], /^round,room,scenario,participant_id,name,role/);
  assert.equal(rows.length, 4, "one row per participant in the round, after the header");
  assert.ok(rows.some((r) => r.includes(names[who("seller")]) && r.includes(",seller,")));
  const [json] = await Promise.all([host.waitForEvent("download"), host.locator("#export-json").click()]);
  const data = JSON.parse(await readFile(await json.path(), "utf8"));
  assert.equal(data.rounds[0].results.pairs[0].uncovered_percent, Number(m[3]), "the export matches the console");

  // ---- the host link reopens the console, results and all ----
  await host.reload();
  await host.locator("#pane-results:not([hidden]) #pair-results .pair-result").waitFor();
  assert.equal(await host.locator("#console-title").textContent(), TITLE);

  // ---- removing a participant sends them back to the start ----
  await view(host, "lobby");
  const obsRow = host.locator("#people .person", { hasText: names[who("observer")] });
  await obsRow.locator('[data-action="remove"]').click();
  await obsRow.locator('[data-action="remove-confirm"]').click();
  // The list re-renders when the session confirms the removal: wait for the third row to go.
  await host.locator("#people .person").nth(2).waitFor({ state: "detached" });
  assert.equal(await host.locator("#people .person").count(), 2);
  await observer.locator("#screen-lobby").waitFor();

  // A new round can be planned once the first has finished.
  await host.locator("#plan-round").click();
  await host.locator("#plan-pairs .plan-pair").first().waitFor();
  assert.ok(await host.locator("#start-round").isEnabled());

  assert.deepEqual(problems, [], "no dialog opened and no script error happened");
  for (const page of [host, seller, observer]) await page.context().close();
}
