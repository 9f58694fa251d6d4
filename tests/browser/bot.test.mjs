// Browser test: a trainee practises alone with the bot buyer from the lobby, on a phone.
// The bot answers in the chat, and the debrief draws the bot's trust on the timeline.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  PHONE, artifacts, newPage, startServerAndBrowser, stopServerAndBrowser, withProblems,
} from "./harness.mjs";

let server;
let baseUrl;
let browser;

before(async () => {
  ({ server, baseUrl, browser } = await startServerAndBrowser());
});

after(() => stopServerAndBrowser(server, browser));

test("a trainee practises with the bot buyer and sees its trust on the timeline", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const page = await newPage(browser, "Dee", PHONE, problems);
    await page.goto(`${baseUrl}/`);
    await page.locator("#name-input").fill("Dee");
    await page.locator("#name-submit").click();
    await page.locator("#scenario-select").selectOption("distributor-inventory");
    await page.locator("#practise-bot").click();

    await page.locator("#room").waitFor();
    assert.equal(await page.locator("#role-badge").getAttribute("data-role"), "seller");
    await page.locator("#ready-btn").click();
    await page.locator('#room[data-phase="conversation"]').waitFor();

    const input = page.locator("#chat-input");
    await input.fill("What would you like the business to look like in two years?");
    await input.press("Enter");
    // The bot opens with its line; its answer to the question is the second.
    await page.locator("#chat-log .msg.theirs").nth(1).waitFor();
    await page.screenshot({ path: path.join(artifacts, "bot-room-phone.png") });

    await page.locator("#end-conversation").click();
    await page.locator("#end-confirm").click();
    await page.locator("#recap-input").fill("He wants a third depot on the coast within two years.");
    await page.locator("#recap-submit").click();

    await page.locator("#headline").waitFor();
    assert.match(await page.locator("#headline").textContent(), /^Uncovered \d+ of \d+ facts, \d+% of the story$/);
    assert.equal(await page.locator("#timeline .tl-trust").count(), 1, "the bot's trust is drawn");
    assert.ok((await page.locator("#transcript .t-line.from-buyer").count()) >= 2, "the bot's replies are in the transcript");
    assert.deepEqual(problems, []);
  });
});
