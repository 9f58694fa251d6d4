// The room during a round: role, scenario, partner, phase and countdown in the header;
// the brief; the chat; the buyer's fact cards or the seller's notes; the recap forms.
// Panels move between a main and a side column as the phase changes; on a phone the
// conversation shows one panel at a time behind tabs (a spoken round opens on the
// hidden story or the notes, since there is no chat to read). The buyer can mark a fact
// from the chat itself. While the trainer has paused the round a banner says so and the
// composer waits. In a workshop, "Call the trainer" raises a hand on the trainer's
// console until they answer it.

import { h, replace } from "../dom.js";
import { countdown, ROLE_LABEL } from "../format.js";
import { chatPanel } from "./chat.js";
import { factsPanel } from "./facts.js";
import { roundHeader } from "./header.js";
import { notesPanel } from "./notes.js";
import { recapPanel } from "./recap.js";

/** How long "… is back" stays before it clears itself: a glance is enough. */
const PARTNER_BACK_NOTICE_MS = 5000;

/**
 * @param {object} ctx
 * @param {object} ctx.opened the `room_opened` message
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => void} ctx.onLeave the user chose to leave the room
 */
export function roomView(ctx) {
  const { opened, send } = ctx;
  const role = opened.role;
  const partnerName = opened.partner;
  const brief = opened.brief;
  let phase = "briefing";
  let ready = false;
  let partnerReady = false;
  let partnerLeft = false;
  const spoken = opened.channel === "spoken";
  let tab = spoken ? "side" : "chat";
  let paused = false;
  let handUp = false;

  // ---- header ----
  const header = roundHeader({
    badge: role,
    badgeText: ROLE_LABEL[role],
    title: opened.scenario.title,
    subtitle: ["with ", h("strong", { id: "partner-name" }, partnerName),
      ` (${ROLE_LABEL[role === "seller" ? "buyer" : "seller"]})`],
  });

  const notices = h("div", { class: "notices", id: "room-notices" });

  // ---- brief ----
  const briefPanel = h("details", { class: "panel panel-brief", id: "panel-brief", open: true },
    h("summary", { class: "panel-title" }, role === "seller" ? "Your brief (seller)" : "Your brief (buyer)"),
    role === "seller" ? sellerBrief(brief) : buyerBrief(brief));

  // ---- chat ----
  const chat = chatPanel({
    role,
    spoken,
    partnerName,
    openingLine: role === "buyer" ? brief.opening_line : null,
    sendChat: (text) => send({ type: "chat", text }),
  });
  const endArea = h("div", { class: "end-area" });
  chat.el.querySelector(".panel-title-row").append(endArea);
  renderEnd();

  // ---- side: facts or notes ----
  const facts = role === "buyer"
    ? factsPanel({ facts: brief.facts, send, line: (i) => chat.lines.get(i), afterMark: () => chat.el.querySelector("#chat-input") })
    : null;
  if (facts && !spoken) chat.el.querySelector(".chat-log")?.after(facts.quickEl);
  const notes = role === "seller" ? notesPanel({ send }) : null;
  const side = (facts ?? notes).el;

  // ---- recap ----
  const recap = recapPanel({ role, partnerName, send });

  // ---- ready bar ----
  const readyBar = h("div", { class: "ready-bar", id: "ready-bar" });

  // ---- tabs (phones, conversation phase) ----
  const tabs = h("nav", { class: "tabs", id: "room-tabs", "aria-label": "Panels" });
  const tabDefs = [
    ["chat", spoken ? "Talk" : "Chat"],
    ["side", role === "buyer" ? "Hidden story" : "Notes"],
    ["brief", "Brief"],
  ];
  const tabButtons = tabDefs.map(([id, label]) => h("button", {
    type: "button", class: "tab", dataset: { tab: id },
    on: { click: () => selectTab(id) },
  }, label));
  tabs.append(...tabButtons);

  const mainCol = h("div", { class: "col col-main" });
  const sideCol = h("div", { class: "col col-side" });
  // ---- calling the trainer (workshops only) ----
  const handBtn = ctx.inWorkshop
    ? h("button", { type: "button", class: "btn btn-small hand-btn", id: "raise-hand", "aria-pressed": "false", on: { click: () => send({ type: handUp ? "lower_hand" : "raise_hand" }) } }, "Call the trainer")
    : null;
  const handNote = h("span", { class: "hand-note", id: "hand-note", role: "status" });
  const handRow = handBtn ? h("div", { class: "hand-row-room" }, handBtn, handNote) : null;

  const pausedBanner = h("div", { class: "paused-banner", id: "paused-banner", role: "status", hidden: true },
    h("strong", {}, "‖ Paused by your trainer."),
    " The clock is stopped and the chat waits until they resume the round.");

  const el = h("main", { class: "room", id: "room", dataset: { phase, role } },
    header.el, pausedBanner, notices, handRow, tabs, h("div", { class: "room-body" }, mainCol, sideCol));

  function selectTab(id) {
    tab = id;
    if (id === "chat") tabButtons[0].classList.remove("has-unread");
    for (const b of tabButtons) b.setAttribute("aria-pressed", String(b.dataset.tab === id));
    chat.el.classList.toggle("tab-hidden", id !== "chat");
    side.classList.toggle("tab-hidden", id !== "side");
    briefPanel.classList.toggle("tab-hidden", id !== "brief");
    if (id === "brief") briefPanel.open = true;
  }

  function layout() {
    el.dataset.phase = phase;
    for (const p of [chat.el, side, briefPanel]) p.classList.remove("tab-hidden");
    if (phase === "briefing") {
      replace(mainCol, briefPanel, readyBar);
      replace(sideCol, side);
      briefPanel.open = true;
    } else if (phase === "conversation") {
      replace(mainCol, chat.el);
      replace(sideCol, briefPanel, side);
      briefPanel.open = false;
      selectTab(tab);
    } else {
      replace(mainCol, recap.el, chat.el);
      replace(sideCol, side, briefPanel);
      briefPanel.open = false;
    }
    chat.setOpen(phase === "conversation" && !paused);
    facts?.setPhase(phase);
    renderReady();
    renderEnd();
  }

  function renderReady() {
    if (phase !== "briefing") return;
    // Redrawn when the partner gets ready: keep focus where it was, not on <body>.
    const hadFocus = readyBar.contains(document.activeElement);
    queueMicrotask(() => {
      if (hadFocus && !readyBar.contains(document.activeElement)) {
        (readyBar.querySelector("#ready-btn") ?? readyBar.querySelector(".waiting-row"))?.focus();
      }
    });
    const other = partnerLeft
      ? `${partnerName} has left; you can start on your own.`
      : partnerReady ? `${partnerName} is ready.` : `${partnerName} is still reading.`;
    if (ready) {
      replace(readyBar, h("p", { class: "waiting-row", tabIndex: -1 }, h("span", { class: "spinner", "aria-hidden": "true" }),
        h("span", {}, `You are ready. Waiting for ${partnerName}…`)));
    } else {
      replace(readyBar,
        h("button", {
          type: "button", class: "btn btn-primary btn-lg", id: "ready-btn",
          on: { click: () => { if (send({ type: "ready" })) { ready = true; renderReady(); } } },
        }, "I'm ready"),
        h("p", { class: "muted", id: "partner-ready" }, other));
    }
  }

  function renderEnd() {
    if (phase !== "conversation") {
      replace(endArea);
      return;
    }
    const bot = /\(bot\)$/.test(partnerName);
    const ask = () => replace(endArea,
      h("span", { class: "confirm-text" }, bot ? "End the conversation now?" : "End for both of you?"),
      h("button", {
        type: "button", class: "btn btn-danger btn-small", id: "end-confirm",
        on: { click: () => send({ type: "end_conversation" }) },
      }, "End now"),
      h("button", { type: "button", class: "btn btn-small", on: { click: renderEnd } }, "Keep talking"));
    replace(endArea, h("button", {
      type: "button", class: "btn btn-small", id: "end-conversation", on: { click: ask },
    }, "End conversation"));
  }

  function notice(text, kind = "info", action = null, id = undefined) {
    const item = h("div", { class: `notice notice-${kind}`, role: "status", id }, h("span", {}, text), action);
    notices.append(item);
    return item;
  }

  // ---- the partner's connection ----
  let away = null;
  function clearAway() {
    if (!away) return;
    clearInterval(away.interval);
    away.el.remove();
    away = null;
  }
  function partnerAway(msg) {
    clearAway();
    notices.querySelector("#partner-back")?.remove();
    const until = performance.now() + (msg.grace_ms ?? 0);
    const time = h("span", { class: "away-time" });
    const el = h("div", { class: "notice notice-warn", role: "status", id: "partner-away" },
      h("span", {}, `${msg.name}'s connection dropped — waiting for them to come back (`, time, ")"));
    const draw = () => { time.textContent = countdown(until - performance.now()); };
    draw();
    away = { el, interval: setInterval(draw, 1000) };
    notices.append(el);
  }
  function partnerBack(msg) {
    clearAway();
    notices.querySelector("#partner-back")?.remove();
    const item = notice(`${msg.name} is back.`, "info", null, "partner-back");
    setTimeout(() => item.remove(), PARTNER_BACK_NOTICE_MS);
  }

  /** The text boxes of this room by id, to carry typed text over a rebuilt view. */
  function textBoxes() {
    return [chat.el, side, recap.el].flatMap((panel) => [...panel.querySelectorAll("textarea[id]")]);
  }

  layout();
  header.setPhase(phase);

  return {
    el,
    handle(msg) {
      switch (msg.type) {
        case "phase": {
          notes?.flush();
          // A phase message also comes when a trainer pauses, resumes or extends the clock;
          // only a new phase rearranges the panels.
          const changed = msg.phase !== phase;
          const wasPaused = paused;
          phase = msg.phase;
          paused = Boolean(msg.paused) && phase !== "debrief";
          pausedBanner.hidden = !paused;
          el.classList.toggle("is-paused", paused);
          header.setPhase(phase, msg);
          if (changed) {
            layout();
            // Focus goes to the next thing to do.
            if (phase === "conversation") chat.focus();
            if (phase === "recap") recap.focus?.();
          } else if (wasPaused !== paused) {
            chat.setOpen(phase === "conversation" && !paused);
            if (!paused && phase === "conversation") chat.focus();
          }
          return true;
        }
        case "hand":
          handUp = Boolean(msg.raised);
          if (handBtn) {
            handBtn.textContent = handUp ? "Cancel the call" : "Call the trainer";
            handBtn.setAttribute("aria-pressed", String(handUp));
            handNote.textContent = handUp
              ? `${msg.by ?? "Your pair"} called the trainer; they will come over.`
              : "";
          }
          return true;
        case "partner_ready":
          partnerReady = true;
          renderReady();
          return true;
        case "chat":
          chat.add(msg);
          if (tab !== "chat" && msg.from !== role) tabButtons[0].classList.add("has-unread");
          facts?.refresh();
          return true;
        case "revealed":
          facts?.revealed(msg);
          return true;
        case "unrevealed":
          facts?.unrevealed(msg);
          return true;
        case "notes_saved":
          notes?.saved();
          return true;
        case "notes_restored":
          notes?.restore(msg.text);
          return true;
        case "partner_submitted":
          recap.submitted(msg.role);
          return true;
        case "partner_away":
          partnerAway(msg);
          return true;
        case "partner_back":
          partnerBack(msg);
          return true;
        case "partner_left":
          clearAway();
          partnerLeft = true;
          notice(`${msg.name} left the room.`, "warn",
            h("button", { type: "button", class: "btn btn-small", on: { click: ctx.onLeave } }, "Back to the lobby"));
          renderReady();
          return true;
        case "error":
          facts?.refused();
          notes?.refused();
          recap.refused();
          return false;
        default:
          return false;
      }
    },
    /** Our own connection dropped. */
    connectionLost() {
      chat.connectionLost();
    },
    /** Text typed but not sent or submitted, by text box id. */
    drafts() {
      const out = {};
      for (const box of textBoxes()) if (box.value.trim()) out[box.id] = box.value;
      return out;
    },
    /** Puts `drafts` back into empty text boxes (after a reload or a rebuilt view). */
    restoreDrafts(drafts) {
      for (const box of textBoxes()) {
        const text = drafts?.[box.id];
        if (typeof text === "string" && text && !box.value) {
          box.value = text;
          box.dispatchEvent(new Event("input"));
        }
      }
    },
    destroy() {
      clearAway();
      header.destroy();
      notes?.destroy();
    },
  };
}

function section(title, ...content) {
  return h("div", { class: "brief-section" }, h("h3", {}, title), ...content);
}

function sellerBrief(b) {
  return h("div", { class: "brief-body" },
    section("Your situation", h("p", { class: "prose" }, b.brief)),
    section("What you sell", h("p", { class: "prose" }, b.product)),
    section("Who you are meeting",
      h("p", { class: "prose" }, h("strong", {}, b.buyer_name), ", ", b.buyer_role)),
    h("p", { class: "hint" }, "Your goal: understand their world before you talk about yours."));
}

function buyerBrief(b) {
  return h("div", { class: "brief-body" },
    section("You are", h("p", { class: "prose" }, h("strong", {}, b.name), ", ", b.role)),
    section("How to play them", h("p", { class: "prose" }, b.persona)),
    section("Your situation", h("p", { class: "prose" }, b.brief)),
    section("Your opening line", h("blockquote", { class: "opening-line", id: "opening-line" }, b.opening_line)));
}
