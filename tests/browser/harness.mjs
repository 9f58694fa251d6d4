// Shared by the browser tests: starts the Uncover server binary on a free port (each
// with its own fresh event log, unless a test names one), launches Debian's Chromium
// through playwright-core, and makes pages that record any dialog or script error so a
// test can fail on them. For the reconnection tests it can also kill the server outright
// and put a TCP proxy between a page and the server whose connections can be cut.
//
// Env: UNCOVER_BIN (server binary, default ../../target/debug/uncover),
//      CHROMIUM_PATH (default /usr/bin/chromium).

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
export const artifacts = path.join(repoRoot, "artifacts");
const serverBin = path.resolve(here, process.env.UNCOVER_BIN ?? "../../target/debug/uncover");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The server prints its address within a second; a cold debug binary on a busy machine may take longer. */
const SERVER_START_MS = 30_000;
/** Generous waits: the machine is shared and the debug build is slow, but nothing here should hang. */
export const STEP_MS = 20_000;
/** How long a stopping server may take before it is killed outright. */
const SERVER_STOP_MS = 5_000;

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/** Event-log folders made by `startServer`, removed when their server stops. */
const madeDataDirs = new WeakMap();

/** A TCP port that was free a moment ago, for a server that must come back on the same one. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A fresh folder for an event log, for tests that restart the server on the same data. */
export function tempDataPath() {
  return path.join(mkdtempSync(path.join(os.tmpdir(), "uncover-browser-")), "events.sqlite");
}

/** Removes the folder `tempDataPath` made for `data`. */
export function removeTempData(data) {
  rmSync(path.dirname(data), { recursive: true, force: true });
}

/**
 * Starts the server on 127.0.0.1; resolves to { child, url, log }.
 * @param {object} [options]
 * @param {number} [options.port] a fixed port (default: one the OS picks)
 * @param {string} [options.data] the event log file (default: a fresh one, removed on stop)
 * @param {string[]} [options.args] more command-line options
 */
export function startServer({ port = 0, data = null, args = [] } = {}) {
  const log = [];
  const dataPath = data ?? tempDataPath();
  return new Promise((resolve, reject) => {
    const child = spawn(serverBin, ["--bind", `127.0.0.1:${port}`, "--data", dataPath, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server printed no address within ${SERVER_START_MS} ms:\n${log.join("")}`));
    }, SERVER_START_MS);
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      const text = chunk.toString();
      log.push(text);
      buffered += text;
      // "  Trainees:  http://127.0.0.1:PORT/"
      const m = buffered.match(/Trainees:\s+(http:\/\/\S+?)\/?\s/);
      if (m) {
        clearTimeout(timer);
        if (data === null) madeDataDirs.set(child, path.dirname(dataPath));
        resolve({ child, url: m[1], log });
      }
    });
    child.stderr.on("data", (chunk) => log.push(chunk.toString()));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${serverBin}: ${err.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before printing its address:\n${log.join("")}`));
    });
  });
}

/** A fresh server and a browser for one test file: `{ server, baseUrl, browser }`. */
export async function startServerAndBrowser() {
  const started = await startServer();
  return { server: started.child, baseUrl: started.url, browser: await launchBrowser() };
}

/** Undoes `startServerAndBrowser`, whatever of it succeeded. */
export async function stopServerAndBrowser(server, browser) {
  await browser?.close();
  await stopServer(server);
}

export async function stopServer(child) {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    const timeout = setTimeout(() => child.kill("SIGKILL"), SERVER_STOP_MS);
    await exited;
    clearTimeout(timeout);
  }
  const dir = child && madeDataDirs.get(child);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Kills the server at once (SIGKILL: no drain, no goodbye) and waits until it is gone. */
export async function killServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/**
 * A TCP proxy on a free port in front of `target` (an http://host:port URL). `stall()`
 * silently throws away whatever is sent either way while connections stay open (a
 * network that died without saying so); `cut()` drops every connection and refuses new
 * ones, as a lost network would; `restore()` lets connections through again on the same
 * port.
 */
export async function startProxy(target) {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set();
  const pairs = new Set();
  const track = (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), hostname);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair = [client, upstream];
    pairs.add(pair);
    client.on("close", () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on("close", () => client.destroy());
  });
  const listen = (port) => new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    stall() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        for (const s of [client, upstream]) s.on("data", () => {});
      }
    },
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async restore() {
      await listen(port);
    },
    async stop() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function launchBrowser() {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page in its own context (its own storage), recording dialogs and script errors in `problems`. */
export async function newPage(browser, name, viewport, problems) {
  const phone = viewport.width < 500;
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, hasTouch: phone, isMobile: phone });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("dialog", async (dialog) => {
    problems.push(`${name}: a ${dialog.type()} dialog opened: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.stack ?? err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${name}: console error: ${msg.text()}`);
  });
  return page;
}

/** Runs `body`, adding any recorded browser problems to its error so a timeout explains itself. */
export async function withProblems(problems, body) {
  try {
    await body();
  } catch (err) {
    if (problems.length) err.message += `\nAlso seen in the browser:\n${problems.join("\n")}`;
    throw err;
  }
}
