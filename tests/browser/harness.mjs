// Shared by the browser tests: starts the Uncover server binary on a free port and
// launches Debian's Chromium through playwright-core, and makes pages that record any
// dialog or script error so a test can fail on them.
//
// Env: UNCOVER_BIN (server binary, default ../../target/debug/uncover),
//      CHROMIUM_PATH (default /usr/bin/chromium).

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
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

/** Starts the server on 127.0.0.1 with a port the OS picks; resolves to { child, url, log }. */
export function startServer() {
  const log = [];
  return new Promise((resolve, reject) => {
    const child = spawn(serverBin, ["--bind", "127.0.0.1:0"], {
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

export async function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  const timeout = setTimeout(() => child.kill("SIGKILL"), SERVER_STOP_MS);
  await exited;
  clearTimeout(timeout);
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
