// Browser test: nobody loses their round to the network or to a server restart.
//
// (a) Two trainees play a round, each page behind its own TCP proxy. The buyer's network
//     first dies silently (a line sent then is lost), then drops (the proxy cuts the
//     connection and refuses new ones: Chromium's `setOffline` does not close an open
//     WebSocket, so a real cut is used). The buyer sees a calm "Reconnecting…" banner
//     and gets the lost line back in the box; the seller sees that the buyer's
//     connection dropped and chats on. When the network is back the buyer's page
//     returns by itself and shows the seller's line exactly once. A reload mid-round
//     keeps the seat, the transcript and the text being typed.
// (b) The server is killed with SIGKILL mid-conversation and started again on the same
//     port and event log. Both pages come back by themselves, in the same round, with
//     the whole transcript shown once, the buyer's reveal kept and the clock running.
// (c) The same for a trainer's console and a trainee waiting in the workshop.
// (d) A seat the restarted server does not know: back to the lobby, with the reason.
// (e) A place in the queue survives a network drop.
//
// Screenshots of the banners go to artifacts/ at the repository root.
// Run: cd tests/browser && npm ci && node --test   (see harness.mjs for the env vars)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  artifacts, DESKTOP, PHONE, freePort, killServer, launchBrowser, newPage, removeTempData,
  startProxy, startServer, stopServer, tempDataPath, withProblems,
} from "./harness.mjs";

const SCENARIO_ID = "distributor-inventory";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

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
  await page.locator("#chat-log .msg.mine .msg-text", { hasText: text }).waitFor();
}

async function waitForLine(page, text) {
  await page.locator("#chat-log .msg-text").filter({ hasText: text }).first().waitFor();
}

/** How many transcript lines on `page` read exactly `text`. */
async function countLine(page, text) {
  return page.locator("#chat-log .msg-text").evaluateAll(
    (els, t) => els.filter((e) => e.textContent === t).length, text);
}

/** Browser problems other than Chromium's own log lines about the connection attempts
 * that fail while the network or the server is down (those are the point of the test). */
function unexpected(problems) {
  return problems.filter((p) => !/console error: (WebSocket connection to .* failed|Failed to load resource)/.test(p));
}

async function transcript(page) {
  return page.locator("#chat-log .msg-text").allTextContents();
}

/** Ana makes a private link at `anaBase`, Ben opens it at `benBase`; both get ready.
 * Resolves to { seller, buyer } once the conversation has started. */
async function pairAndStart(ana, ben, anaBase, benBase) {
  await ana.goto(`${anaBase}/`);
  await ana.locator("#name-input").fill("Ana");
  await ana.locator("#name-submit").click();
  await ana.locator("#screen-lobby").waitFor();
  await ana.locator("#scenario-select").selectOption(SCENARIO_ID);
  await ana.locator("#create-link").click();
  const code = (await ana.locator("#pair-code").textContent()).trim();
  await ben.goto(`${benBase}/?pair=${code}`);
  await ben.locator("#name-input").fill("Ben");
  await ben.locator("#name-submit").click();
  await ana.locator("#room").waitFor();
  await ben.locator("#room").waitFor();
  const anaRole = await ana.locator("#role-badge").getAttribute("data-role");
  for (const page of [ana, ben]) await page.locator("#ready-btn").click();
  for (const page of [ana, ben]) await page.locator('#room[data-phase="conversation"]').waitFor();
  return anaRole === "seller" ? { seller: ana, buyer: ben } : { seller: ben, buyer: ana };
}

test("a trainee whose network drops comes back by themselves and misses nothing", { timeout: 180_000 }, async () => {
  const problems = [];
  const { child, url } = await startServer();
  const proxies = [await startProxy(url), await startProxy(url)];
  try {
    await withProblems(problems, () => networkDrop(problems, proxies));
  } finally {
    for (const p of proxies) await p.stop();
    await stopServer(child);
  }
});

async function networkDrop(problems, proxies) {
  const ana = await newPage(browser, "Ana", DESKTOP, problems);
  const ben = await newPage(browser, "Ben", PHONE, problems);
  const proxyOf = new Map([[ana, proxies[0]], [ben, proxies[1]]]);
  const { seller, buyer } = await pairAndStart(ana, ben, proxies[0].url, proxies[1].url);
  const sellerName = seller === ana ? "Ana" : "Ben";
  const buyerName = buyer === ana ? "Ana" : "Ben";
  const tag = buyer === ben ? "phone" : "desktop";

  await openTab(buyer, "chat");
  await buyer.locator("#use-opening").click();
  await buyer.locator("#chat-input").press("Enter");
  await say(seller, "Thanks for seeing me. What is on your mind this week?");
  await waitForLine(buyer, "What is on your mind this week?");

  // The buyer's network dies without a word: a line sent now is lost on the way.
  const unsent = "Sorry, my connection went. Where were we?";
  proxyOf.get(buyer).stall();
  await buyer.locator("#chat-input").fill(unsent);
  await buyer.locator("#chat-input").press("Enter");
  assert.equal(await buyer.locator("#chat-input").inputValue(), "", "the socket looked fine, so the box emptied");

  // Then the network goes for good.
  await proxyOf.get(buyer).cut();
  await buyer.locator("#conn-banner.is-reconnecting:not([hidden])", { hasText: "Reconnecting" }).waitFor();
  await buyer.screenshot({ path: path.join(artifacts, `reconnecting-banner-${tag}.png`) });
  // The round stays on screen, not behind a blocking overlay.
  assert.ok(await buyer.locator("#room").isVisible(), "the room stays on screen while reconnecting");

  // The seller is told, with the time the seat is kept, and chats on.
  const away = seller.locator("#partner-away");
  await away.waitFor();
  assert.match(await away.textContent(),
    new RegExp(`^${buyerName}'s connection dropped — waiting for them to come back \\(\\d+:\\d\\d\\)$`));
  await seller.screenshot({ path: path.join(artifacts, "partner-away-banner.png") });
  const whileAway = "While you were away: how many people count the stock by hand?";
  await say(seller, whileAway);

  // The line the server never confirmed is back in the box, with a note, and pressing
  // Enter while disconnected does not throw it away.
  await openTab(buyer, "chat");
  assert.equal(await buyer.locator("#chat-input").inputValue(), unsent, "the unconfirmed line is back in the box");
  await buyer.locator("#chat-note:not([hidden])", { hasText: "back in the box" }).waitFor();
  await buyer.locator("#chat-input").press("Enter");
  assert.equal(await buyer.locator("#chat-input").inputValue(), unsent, "an unsent message stays in the box");
  assert.equal(await countLine(seller, unsent), 0);

  // The network is back: the buyer's page returns by itself.
  await proxyOf.get(buyer).restore();
  await buyer.locator("#conn-banner").waitFor({ state: "hidden", timeout: 30_000 });
  await waitForLine(buyer, whileAway);
  await seller.locator("#partner-back", { hasText: `${buyerName} is back.` }).waitFor();
  assert.equal(await away.count(), 0, "the 'connection dropped' notice goes once they are back");
  assert.equal(await countLine(buyer, whileAway), 1, "the line sent while away shows exactly once");
  assert.deepEqual(await transcript(buyer), await transcript(seller), "both see the same transcript, nothing repeated");

  // The kept text can now be sent.
  await buyer.locator("#chat-input").press("Enter");
  await waitForLine(seller, unsent);
  // The partner sees a line before it is saved; the sender's own copy follows the save.
  await waitForLine(buyer, unsent);
  assert.equal(await countLine(buyer, unsent), 1);

  // A reload mid-round keeps the seat, the transcript and the text being typed.
  const before = await transcript(buyer);
  const draft = "A thought I have not sent yet";
  await buyer.locator("#chat-input").fill(draft);
  await buyer.reload();
  await buyer.locator('#room[data-phase="conversation"]').waitFor();
  await buyer.locator("#chat-log .msg").nth(before.length - 1).waitFor();
  assert.equal(await buyer.locator("#role-badge").getAttribute("data-role"), "buyer");
  assert.equal(await buyer.locator("#partner-name").textContent(), sellerName);
  await openTab(buyer, "chat");
  assert.deepEqual(await transcript(buyer), before, "the reloaded page shows the transcript once");
  assert.equal(await buyer.locator("#chat-input").inputValue(), draft, "the text being typed survives the reload");
  assert.equal(await buyer.locator("#screen-name").count(), 0, "no name screen: the seat was kept");
  const afterReload = "Back after a reload, and still in the round.";
  await buyer.locator("#chat-input").fill(afterReload);
  await buyer.locator("#chat-input").press("Enter");
  await waitForLine(seller, afterReload);

  assert.deepEqual(unexpected(problems), [], "no dialog opened and no script error happened");
  await ana.context().close();
  await ben.context().close();
}

test("after the server is killed and restarted both trainees are back in their round by themselves", { timeout: 240_000 }, async () => {
  const problems = [];
  const port = await freePort();
  const data = tempDataPath();
  const servers = [await startServer({ port, data })];
  try {
    await withProblems(problems, () => serverRestart(problems, servers, { port, data }));
  } finally {
    for (const s of servers) await stopServer(s.child);
    removeTempData(data);
  }
});

async function serverRestart(problems, servers, options) {
  const server = servers[0];
  const ana = await newPage(browser, "Ana", DESKTOP, problems);
  const ben = await newPage(browser, "Ben", DESKTOP, problems);
  const { seller, buyer } = await pairAndStart(ana, ben, server.url, server.url);

  const lines = [
    [buyer, "Our stock numbers and the shelves never agree."],
    [seller, "How do you find out when they disagree?"],
    [buyer, "Someone walks the aisles with a clipboard every Friday."],
    [seller, "What does that Friday count cost you?"],
  ];
  for (const [page, text] of lines) {
    await say(page, text);
    await waitForLine(page === seller ? buyer : seller, text);
  }
  await openTab(buyer, "side");
  const fact = await buyer.locator('#panel-facts .fact-card[data-state="available"]').first().getAttribute("data-fact");
  await buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"] [data-action="reveal"]`).click();
  await buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"][data-state="revealed"]`).waitFor();
  const title = await seller.locator("#scenario-title").textContent();
  const before = await transcript(seller);
  assert.equal(before.length, lines.length, "every line is on the seller's page");

  // kill -9: no goodbye to anyone.
  await killServer(server.child);
  for (const page of [ana, ben]) {
    await page.locator("#conn-banner.is-reconnecting:not([hidden])").waitFor();
  }
  await seller.screenshot({ path: path.join(artifacts, "reconnecting-banner-server-down.png") });

  // The same server again, same port, same event log. Nobody clicks anything.
  servers.push(await startServer(options));
  for (const page of [ana, ben]) {
    await page.locator("#conn-banner").waitFor({ state: "hidden", timeout: 30_000 });
    await page.locator('#room[data-phase="conversation"]').waitFor();
    await page.locator("#chat-log .msg").nth(before.length - 1).waitFor();
  }
  for (const page of [seller, buyer]) {
    await openTab(page, "chat");
    assert.equal(await page.locator("#scenario-title").textContent(), title, "still the same round");
    assert.deepEqual(await transcript(page), before, "the whole transcript, each line once");
  }
  assert.equal(await seller.locator("#role-badge").getAttribute("data-role"), "seller");
  assert.equal(await buyer.locator("#role-badge").getAttribute("data-role"), "buyer");
  await openTab(buyer, "side");
  await buyer.locator(`#panel-facts .fact-card[data-fact="${fact}"][data-state="revealed"]`).waitFor();

  // The clock still runs.
  const shown = await seller.locator("#timer").textContent();
  assert.match(shown, /^\d+:\d\d$/);
  await seller.waitForFunction((t) => document.getElementById("timer")?.textContent !== t, shown);
  assert.match(await seller.locator("#timer").textContent(), /^\d+:\d\d$/);

  // And the conversation carries on.
  const after = "Picking up where we left off: who signs off on a new system?";
  await say(seller, after);
  await openTab(buyer, "chat");
  await waitForLine(buyer, after);
  assert.equal(await countLine(buyer, after), 1);

  assert.deepEqual(unexpected(problems), [], "no dialog opened and no script error happened");
  await ana.context().close();
  await ben.context().close();
}

test("the trainer's console and a trainee waiting in the workshop come back after a restart", { timeout: 240_000 }, async () => {
  const problems = [];
  const port = await freePort();
  const data = tempDataPath();
  const servers = [await startServer({ port, data })];
  try {
    await withProblems(problems, () => workshopRestart(problems, servers, { port, data }));
  } finally {
    for (const s of servers) await stopServer(s.child);
    removeTempData(data);
  }
});

async function workshopRestart(problems, servers, options) {
  const url = servers[0].url;
  const title = "Thursday follow-up";
  const host = await newPage(browser, "Console", DESKTOP, problems);
  await host.goto(`${url}/host`);
  await host.locator("#session-title").fill(title);
  await host.locator("#create-session").click();
  await host.locator("#join-code").waitFor();
  const code = (await host.locator("#join-code").textContent()).trim();
  const cleo = await newPage(browser, "Cleo", PHONE, problems);
  await cleo.goto(`${url}/?join=${code}`);
  await cleo.locator("#name-input").fill("Cleo");
  await cleo.locator("#name-submit").click();
  await cleo.locator("#screen-session").waitFor();
  await host.locator("#names-wall .name-tile", { hasText: "Cleo" }).waitFor();

  await killServer(servers[0].child);
  await host.locator("#conn-banner.is-reconnecting:not([hidden])", { hasText: "Reconnecting" }).waitFor();
  await cleo.locator("#conn-banner.is-reconnecting:not([hidden])").waitFor();
  await host.screenshot({ path: path.join(artifacts, "reconnecting-banner-console.png") });
  servers.push(await startServer(options));

  // Both come back by themselves: the console with its workshop, Cleo in its lobby.
  for (const page of [host, cleo]) await page.locator("#conn-banner").waitFor({ state: "hidden", timeout: 30_000 });
  assert.equal(await host.locator("#console-title").textContent(), title);
  await host.locator("#names-wall .name-tile", { hasText: "Cleo" }).waitFor();
  await cleo.locator("#screen-session").waitFor();
  assert.equal(await cleo.locator("#session-title").textContent(), title);

  // The console holds the host seat again: it can plan a round for Cleo.
  await host.locator('.tab-btn[data-view="lobby"]').click();
  await host.locator("#plan-round").click();
  await host.locator("#plan-pairs .plan-pair").first().waitFor();

  assert.deepEqual(unexpected(problems), [], "no dialog opened and no script error happened");
  await host.context().close();
  await cleo.context().close();
}

test("a trainee whose seat is gone is back in the lobby with a reason, not stuck", { timeout: 120_000 }, async () => {
  const problems = [];
  const port = await freePort();
  // The second server starts on the same port with a fresh event log: it has never
  // heard of this trainee's resume token.
  const servers = [await startServer({ port })];
  try {
    await withProblems(problems, async () => {
      const page = await newPage(browser, "Dev", PHONE, problems);
      await page.goto(`${servers[0].url}/`);
      await page.locator("#name-input").fill("Dev");
      await page.locator("#name-submit").click();
      await page.locator("#screen-lobby").waitFor();
      await killServer(servers[0].child);
      await page.locator("#conn-banner.is-reconnecting:not([hidden])").waitFor();
      servers.push(await startServer({ port }));
      await page.locator("#screen-lobby .alert", { hasText: "could not be kept" }).waitFor({ timeout: 30_000 });
      await page.locator("#conn-banner").waitFor({ state: "hidden" });
      assert.equal(await page.locator("#my-name").textContent(), "Dev", "the same name, without asking again");
      await page.locator("#find-partner").click();
      await page.locator("#waiting", { hasText: "Looking for a partner" }).waitFor();
      assert.deepEqual(unexpected(problems), [], "no dialog opened and no script error happened");
      await page.context().close();
    });
  } finally {
    for (const s of servers) await stopServer(s.child);
  }
});

test("a trainee waiting for a partner is still waiting after a network drop, and gets paired", { timeout: 120_000 }, async () => {
  const problems = [];
  const { child, url } = await startServer();
  const proxy = await startProxy(url);
  try {
    await withProblems(problems, async () => {
      const eve = await newPage(browser, "Eve", PHONE, problems);
      await eve.goto(`${proxy.url}/`);
      await eve.locator("#name-input").fill("Eve");
      await eve.locator("#name-submit").click();
      await eve.locator("#screen-lobby").waitFor();
      await eve.locator("#find-partner").click();
      await eve.locator("#waiting", { hasText: "Looking for a partner" }).waitFor();

      await proxy.cut();
      await eve.locator("#conn-banner.is-reconnecting:not([hidden])").waitFor();
      await proxy.restore();
      await eve.locator("#conn-banner").waitFor({ state: "hidden", timeout: 30_000 });
      await eve.locator("#waiting", { hasText: "Looking for a partner" }).waitFor();
      assert.equal(await eve.locator("#screen-lobby .alert:not([hidden])").count(), 0, "no error for the drop");

      // Her place in the queue holds on the server: the next trainee is paired with her.
      const finn = await newPage(browser, "Finn", DESKTOP, problems);
      await finn.goto(`${url}/`);
      await finn.locator("#name-input").fill("Finn");
      await finn.locator("#name-submit").click();
      await finn.locator("#screen-lobby").waitFor();
      await finn.locator("#find-partner").click();
      await eve.locator("#room").waitFor();
      await finn.locator("#room").waitFor();
      assert.equal(await eve.locator("#partner-name").textContent(), "Finn");
      assert.deepEqual(unexpected(problems), [], "no dialog opened and no script error happened");
      await eve.context().close();
      await finn.context().close();
    });
  } finally {
    await proxy.stop();
    await stopServer(child);
  }
});
