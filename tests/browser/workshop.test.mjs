// Browser test: three trainees join a trainer's workshop by its link. The trainer (a
// plain websocket here, standing in for the console) broadcasts a message and starts a
// round with the odd one out observing: two trainees play, the third watches the chat,
// writes a note, and everyone sees the note in the debrief, then returns to the workshop.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  DESKTOP, PHONE, artifacts, newPage, startServerAndBrowser, stopServerAndBrowser, withProblems,
} from "./harness.mjs";

let server;
let baseUrl;
let browser;

before(async () => {
  ({ server, baseUrl, browser } = await startServerAndBrowser());
});

after(() => stopServerAndBrowser(server, browser));

/** A trainer's connection, driven from inside a page so no websocket library is needed. */
async function trainer(page) {
  await page.goto(`${baseUrl}/healthz`);
  await page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${window.location.host}/ws`);
    window.log = [];
    ws.onmessage = (e) => window.log.push(JSON.parse(e.data));
    ws.onerror = () => reject(new Error("trainer socket failed"));
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "hello", protocol: 1, name: "Trainer" }));
      window.ws = ws;
      resolve();
    };
  }));
  return {
    send: (msg) => page.evaluate((m) => window.ws.send(JSON.stringify(m)), msg),
    /** The first message since log index `from` that passes `predicate` (sent as source). */
    waitFor: async (predicate, from = 0) => {
      const handle = await page.waitForFunction(([src, start]) => {
        const ok = new Function("m", `return (${src})(m)`);
        const hit = window.log.slice(start).find((m) => ok(m));
        return hit ?? false;
      }, [predicate.toString(), from]);
      return handle.jsonValue();
    },
    logLength: () => page.evaluate(() => window.log.length),
  };
}

async function joinWorkshop(page, name, url) {
  await page.goto(url);
  await page.locator(".callout", { hasText: "joining a workshop" }).waitFor();
  await page.locator("#name-input").fill(name);
  await page.locator("#name-submit").click();
  await page.locator("#screen-session").waitFor();
}

test("trainees join a workshop, hear the trainer, and the odd one out observes a pair", { timeout: 180_000 }, async () => {
  const problems = [];
  await withProblems(problems, async () => {
    // The trainer's page is a bare text page (it asks for a favicon that is not there), so
    // its console is not part of what this test judges.
    const host = await trainer(await newPage(browser, "Trainer", DESKTOP, []));
    await host.send({ type: "create_session", title: "Friday discovery clinic" });
    const created = await host.waitFor((m) => m.type === "session_created");
    const joinUrl = `${baseUrl}${created.join_path}`;

    const pages = {
      Ana: await newPage(browser, "Ana", DESKTOP, problems),
      Ben: await newPage(browser, "Ben", PHONE, problems),
      Cleo: await newPage(browser, "Cleo", PHONE, problems),
    };
    for (const [name, page] of Object.entries(pages)) await joinWorkshop(page, name, joinUrl);
    assert.equal(await pages.Ana.locator("#session-title").textContent(), "Friday discovery clinic");
    assert.ok(!(await pages.Ana.evaluate(() => window.location.search)).includes("join"),
      "the used code leaves the address");
    await pages.Ben.screenshot({ path: path.join(artifacts, "workshop-waiting-phone.png") });

    await host.send({ type: "broadcast", text: "Round one starts now: be curious." });
    for (const page of Object.values(pages)) {
      await page.locator("#broadcast-text", { hasText: "be curious" }).waitFor();
    }

    const before = await host.logLength();
    await host.send({ type: "plan_round", scenario: "distributor-inventory", odd: "observe" });
    await host.waitFor((m) => m.type === "console" && m.plan && m.plan.pairs.length === 1, before);
    await host.send({ type: "start_round" });

    // Two play, one observes.
    const roles = {};
    for (const [name, page] of Object.entries(pages)) {
      await page.locator("#room").waitFor();
      roles[name] = await page.locator("#role-badge").getAttribute("data-role");
    }
    assert.deepEqual(Object.values(roles).sort(), ["buyer", "observer", "seller"]);
    const by = (role) => pages[Object.keys(roles).find((n) => roles[n] === role)];
    const seller = by("seller");
    const buyer = by("buyer");
    const observer = by("observer");
    assert.ok((await observer.locator("#observer-checklist li").count()) >= 1, "the observer gets the checklist");
    assert.equal(await observer.locator(".fact-card").count(), 0, "the observer sees no hidden fact");

    for (const page of [seller, buyer]) await page.locator("#ready-btn").click();
    await seller.locator('#room[data-phase="conversation"]').waitFor();
    await observer.locator('#room[data-phase="conversation"]').waitFor();
    const openTab = async (page) => {
      const tab = page.locator('#room-tabs [data-tab="chat"]');
      if (await tab.isVisible()) await tab.click();
    };
    await openTab(seller);
    await seller.locator("#chat-input").fill("What are you hoping the business looks like in two years?");
    await seller.locator("#chat-input").press("Enter");
    await observer.locator("#chat-log .msg-text", { hasText: "hoping the business" }).waitFor();

    await observer.locator("#observer-note-input").fill("Opened with a goal question: good.");
    await observer.locator("#observer-note-add").click();
    await observer.locator("#observer-notes li", { hasText: "goal question" }).waitFor();
    await observer.screenshot({ path: path.join(artifacts, "observer.png") });

    await openTab(seller);
    await seller.locator("#end-conversation").click();
    await seller.locator("#end-confirm").click();
    await seller.locator("#recap-input").fill("He wants to grow.");
    await seller.locator("#recap-submit").click();
    await buyer.locator('.heard-option:has(input[value="3"])').click();
    await buyer.locator("#feedback-submit").click();

    for (const page of [seller, buyer, observer]) {
      await page.locator("#headline").waitFor();
      await page.locator("#obs-h + .note-list", { hasText: "goal question" }).waitFor();
    }
    assert.equal(await observer.locator("[data-judge]").count(), 0, "only the buyer judges the recap");

    await observer.locator("#play-again", { hasText: "Back to the workshop" }).click();
    await observer.locator("#screen-session", { hasText: "Round done" }).waitFor();
    assert.deepEqual(problems, []);
  });
});
