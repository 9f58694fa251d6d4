// The lobby: pick a scenario, then find a partner, make a private link for a colleague,
// join one by its code, or practise with the bot buyer. Shows the waiting state.

import { copyText } from "../clipboard.js";
import { h, replace } from "../dom.js";
import { DIFFICULTY_LABEL } from "../format.js";

/** Pair-link codes are six characters; longer input is certainly a mistake. */
const MAX_CODE_CHARS = 12;
/** How long "Copied" shows on the copy button. */
const COPIED_MS = 2000;

/**
 * @param {object} ctx
 * @param {object} ctx.state the app state (name, scenarios, scenarioChoice, waiting)
 * @param {(msg: object) => boolean} ctx.send
 * @param {() => void} ctx.onChangeName
 */
export function lobbyView(ctx) {
  const { state, send } = ctx;
  const alertBox = h("div", { class: "alert", role: "alert", hidden: true });
  const actionArea = h("div", { class: "lobby-actions" });
  let busy = false;

  function scenarioField() {
    const summary = h("p", { class: "scenario-summary", id: "scenario-summary" });
    const select = h("select", { id: "scenario-select", name: "scenario" },
      h("option", { value: "" }, "Any scenario"),
      state.scenarios.map((sc) => h("option", { value: sc.id, selected: state.scenarioChoice === sc.id },
        `${sc.title} (${DIFFICULTY_LABEL[sc.difficulty] ?? sc.difficulty})`)));
    const describe = () => {
      const sc = state.scenarios.find((x) => x.id === select.value);
      summary.textContent = sc ? sc.summary : "The server picks one of the scenarios for you.";
    };
    select.addEventListener("change", () => {
      state.scenarioChoice = select.value;
      describe();
    });
    select.value = state.scenarioChoice ?? "";
    describe();
    return h("div", { class: "scenario-field" },
      h("label", { for: "scenario-select", class: "field-label" }, "Scenario"),
      select, summary);
  }

  function chosenScenario() {
    return state.scenarioChoice ? { scenario: state.scenarioChoice } : {};
  }

  function act(msg) {
    hideAlert();
    if (!send(msg)) {
      showAlert("Not connected to the server. Reload the page to reconnect.");
      return;
    }
    busy = true;
    render();
  }

  function codeForm({ id, label, button, type }) {
    const input = h("input", {
      id,
      type: "text",
      maxLength: MAX_CODE_CHARS,
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      placeholder: "ABC234",
    });
    const form = h("form", { class: "inline-form join-form", dataset: { join: type } },
      input,
      h("button", { type: "submit", class: "btn", disabled: busy }, button));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const code = input.value.trim();
      if (!code) {
        showAlert("Type the code first.");
        input.focus();
        return;
      }
      act({ type, code });
    });
    return [h("label", { for: id }, label), form];
  }

  function choices() {
    return h("div", { class: "choice-grid" },
      h("button", {
        type: "button", class: "btn btn-primary btn-choice", id: "find-partner", disabled: busy,
        on: { click: () => act({ type: "find_partner", ...chosenScenario() }) },
      }, h("span", { class: "choice-title" }, "Practise with someone"),
        h("span", { class: "choice-sub" }, "Pair with the next trainee who is looking")),
      h("button", {
        type: "button", class: "btn btn-choice", id: "create-link", disabled: busy,
        on: { click: () => act({ type: "create_pair_link", ...chosenScenario() }) },
      }, h("span", { class: "choice-title" }, "Create a private link"),
        h("span", { class: "choice-sub" }, "Send it to one colleague to practise together")),
      h("button", {
        type: "button", class: "btn btn-choice", id: "practise-bot", disabled: busy,
        on: { click: () => act({ type: "practise_with_bot", ...chosenScenario() }) },
      }, h("span", { class: "choice-title" }, "Practise with the bot buyer"),
        h("span", { class: "choice-sub" }, "Solo practice against a scripted buyer")),
      h("div", { class: "join-box" },
        codeForm({ id: "session-code-input", label: "Joining a workshop? Code from your trainer", button: "Join workshop", type: "join_session" }),
        codeForm({ id: "pair-code-input", label: "Code from a colleague's private link", button: "Join", type: "join_pair_link" })));
  }

  function waitingPanel(w) {
    const cancel = h("button", {
      type: "button", class: "btn", id: "cancel-waiting",
      on: { click: () => { hideAlert(); send({ type: "cancel_waiting" }); } },
    }, "Cancel");
    const scenarioName = w.scenario
      ? state.scenarios.find((s) => s.id === w.scenario)?.title ?? w.scenario
      : "any scenario";

    if (w.kind === "link") {
      const url = h("input", { type: "text", readOnly: true, value: w.url, id: "pair-url", "aria-label": "Private link" });
      const copy = h("button", { type: "button", class: "btn btn-primary", id: "copy-link" }, "Copy link");
      copy.addEventListener("click", async () => {
        const ok = await copyText(w.url, url);
        copy.textContent = ok ? "Copied" : "Select and copy";
        setTimeout(() => { copy.textContent = "Copy link"; }, COPIED_MS);
      });
      url.addEventListener("focus", () => url.select());
      return h("div", { class: "waiting", id: "waiting" },
        h("h2", {}, "Your private link"),
        h("p", {}, "Send this link to one colleague. The round starts as soon as they open it."),
        h("div", { class: "inline-form link-box" }, url, copy),
        h("p", { class: "code-line" }, "Or read out the code: ", h("strong", { class: "pair-code", id: "pair-code" }, w.code)),
        h("p", { class: "muted" }, "Scenario: ", scenarioName),
        h("div", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }),
          h("span", {}, "Waiting for your colleague…"), cancel));
    }

    return h("div", { class: "waiting", id: "waiting" },
      h("h2", {}, "Looking for a partner"),
      h("p", { class: "muted" }, "Scenario: ", scenarioName),
      h("div", { class: "waiting-row" }, h("span", { class: "spinner", "aria-hidden": "true" }),
        h("span", {}, "Waiting for another trainee…"), cancel),
      w.botAvailable
        ? h("div", { class: "callout bot-offer" },
          h("p", {}, "Nobody else is free right now. You can practise with the bot buyer instead."),
          h("button", {
            type: "button", class: "btn btn-primary", id: "accept-bot",
            on: { click: () => act({ type: "accept_bot" }) },
          }, "Accept the bot buyer"))
        : null);
  }

  function render() {
    if (state.waiting) replace(actionArea, waitingPanel(state.waiting));
    else replace(actionArea, h("h2", {}, "Practise discovery"), scenarioField(), choices());
  }

  function showAlert(text) {
    alertBox.textContent = text;
    alertBox.hidden = false;
  }
  function hideAlert() {
    alertBox.hidden = true;
  }

  const el = h("main", { class: "screen screen-narrow", id: "screen-lobby" },
    h("header", { class: "topbar" },
      h("h1", { class: "brand brand-sm", style: { margin: "0" } }, "Uncover"),
      h("span", { class: "whoami" }, "Playing as ", h("strong", { id: "my-name" }, state.name), " ",
        h("button", { type: "button", class: "link-btn", on: { click: ctx.onChangeName } }, "Change"))),
    h("section", { class: "card" }, alertBox, actionArea));

  render();

  return {
    el,
    /** The waiting state or scenario list changed. */
    update() {
      busy = false;
      render();
    },
    /** The server refused a lobby action: say so where the user is looking. */
    error(text) {
      busy = false;
      render();
      showAlert(text);
    },
  };
}

