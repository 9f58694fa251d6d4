// The phase countdown shared by the players' header and the observer's screen. It
// follows the server's clock: each `phase` message's `remaining_ms` counts down from the
// moment it arrived, and stands still while the trainer has paused the round.

import { countdown } from "./format.js";

/** The countdown redraws this often; a quarter second keeps the seconds digit honest. */
const TICK_MS = 250;
/** Under this much time left the timer turns to a warning colour. */
const WARN_MS = 60_000;

/** Runs a countdown in `timer` (an element). */
export function phaseCountdown(timer) {
  let deadline = null;
  /** Milliseconds left while the trainer has stopped the clock; null while it runs. */
  let paused = null;

  function tick() {
    timer.classList.toggle("is-paused", paused !== null);
    if (paused !== null) {
      timer.textContent = `${countdown(paused)} paused`;
      timer.classList.remove("is-warn");
      return;
    }
    if (deadline === null) {
      timer.textContent = "–:––";
      timer.classList.remove("is-warn");
      return;
    }
    const left = deadline - performance.now();
    timer.textContent = countdown(left);
    timer.classList.toggle("is-warn", left < WARN_MS);
  }
  const interval = setInterval(tick, TICK_MS);

  return {
    /** Restarts the countdown from a `phase` message. */
    set(msg) {
      const remaining = msg.remaining_ms ?? null;
      paused = msg.paused === true ? remaining : null;
      deadline = remaining === null || paused !== null ? null : performance.now() + remaining;
      tick();
    },
    destroy() {
      clearInterval(interval);
    },
  };
}
