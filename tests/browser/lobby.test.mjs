// Browser test: the lobby on a phone. Waiting for a partner can be cancelled, a wrong pair
// or workshop code is refused with a message the trainee can read, a reload keeps the
// seat, and the name is remembered for the next visit.

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

test("a trainee can wait and cancel, is told when a code is wrong, and is remembered", async () => {
  const problems = [];
  await withProblems(problems, async () => {
    const page = await newPage(browser, "Cleo", PHONE, problems);
    await page.goto(`${baseUrl}/`);
    await page.locator("#name-input").fill("Cleo");
    await page.locator("#name-submit").click();
    await page.locator("#screen-lobby").waitFor();
    assert.ok((await page.locator("#scenario-select option").count()) >= 2, "the scenarios are listed, plus any");
    await page.screenshot({ path: path.join(artifacts, "lobby-phone.png"), fullPage: true });

    await page.locator("#find-partner").click();
    await page.locator("#waiting", { hasText: "Looking for a partner" }).waitFor();
    await page.locator("#cancel-waiting").click();
    await page.locator("#find-partner").waitFor();

    await page.locator("#pair-code-input").fill("NOPE99");
    await page.locator('[data-join="join_pair_link"] button').click();
    const alert = page.locator("#screen-lobby .alert", { hasText: "NOPE99" });
    await alert.waitFor();
    assert.ok(await page.locator("#find-partner").isEnabled(), "the lobby is usable after a refusal");

    await page.locator("#session-code-input").fill("NOPE77");
    await page.locator('[data-join="join_session"] button').click();
    await page.locator("#screen-lobby .alert", { hasText: "NOPE77" }).waitFor();

    // A reload keeps the seat: straight back to the lobby, nothing asked again.
    await page.reload();
    await page.locator("#screen-lobby").waitFor();
    assert.equal(await page.locator("#my-name").textContent(), "Cleo");
    assert.equal(await page.locator("#screen-lobby .alert:not([hidden])").count(), 0, "old refusals are not shown again");

    // The next visit (a new tab) asks for the name again, already filled in.
    const next = await page.context().newPage();
    await next.goto(`${baseUrl}/`);
    assert.equal(await next.locator("#name-input").inputValue(), "Cleo", "the name is remembered");
    assert.deepEqual(problems, []);
  });
});
