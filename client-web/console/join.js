// The join panel: the session's code in letters big enough to read from the back of the
// room, the join address, and its QR code (drawn by the server). A console opened on
// localhost offers the server's LAN addresses instead, since phones cannot reach
// 127.0.0.1. "Full screen" puts just the code, address and QR on the whole screen.

import { h, replace } from "../dom.js";
import { objectUrl, qrPath } from "./api.js";

/** Hostnames that only this computer can reach. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function isLocalHost(hostname) {
  return LOCAL_HOSTS.has(hostname) || hostname.endsWith(".localhost");
}

/** "http://192.168.1.20:8080/" → "http://192.168.1.20:8080". */
function bareOrigin(url) {
  return String(url).replace(/\/+$/, "");
}

/**
 * @param {object} ctx
 * @param {() => string} ctx.token the host token, for the QR request
 */
export function joinPanel(ctx) {
  let info = null;
  let origin = null;
  let qrKey = "";
  let qrUrl = null;

  const codeEl = h("p", { class: "join-code", id: "join-code", "aria-label": "Join code" });
  const urlEl = h("p", { class: "join-url", id: "join-url" });
  const originArea = h("div", { class: "origin-area" });
  const qrImg = h("img", { class: "join-qr", id: "join-qr", alt: "QR code of the join address", hidden: true });
  const qrStatus = h("p", { class: "qr-status muted", role: "status" });
  const fullBtn = h("button", {
    type: "button", class: "btn", id: "join-fullscreen", "aria-pressed": "false",
    on: { click: () => setFull(!full) },
  }, "Full screen");
  let full = false;

  const el = h("section", { class: "card join-panel", id: "join-panel", "aria-labelledby": "join-h" },
    h("div", { class: "join-text" },
      h("h2", { id: "join-h", class: "join-lead" }, "Join on your phone or laptop"),
      h("p", { class: "join-step" }, "1. Open"),
      urlEl,
      h("p", { class: "join-step" }, "2. Type your name. Or enter the code:"),
      codeEl,
      originArea,
      h("div", { class: "join-actions" }, fullBtn)),
    h("figure", { class: "join-figure" }, qrImg, qrStatus));

  function setFull(on) {
    full = on;
    el.classList.toggle("is-full", on);
    document.body.classList.toggle("join-full", on);
    fullBtn.setAttribute("aria-pressed", String(on));
    fullBtn.textContent = on ? "Exit full screen" : "Full screen";
    if (on && document.fullscreenElement === null && document.documentElement.requestFullscreen) {
      // Real full screen where the browser allows it; the overlay works without it.
      document.documentElement.requestFullscreen().catch(() => {});
    } else if (!on && document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    }
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && full) setFull(false);
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && full) setFull(false);
  });

  function origins() {
    const here = window.location.origin;
    if (!isLocalHost(window.location.hostname)) return { list: [here], localOnly: false };
    const lan = (info?.lan_urls ?? []).map(bareOrigin).filter(Boolean);
    return lan.length ? { list: lan, localOnly: false } : { list: [here], localOnly: true };
  }

  function renderOrigin() {
    const { list, localOnly } = origins();
    if (!list.includes(origin)) origin = list[0];
    if (localOnly) {
      replace(originArea, h("p", { class: "callout callout-warn", id: "localhost-hint" },
        h("strong", {}, "Phones cannot reach this address. "),
        "This console is open on ", window.location.host, ", which only this computer can reach. ",
        "Restart the server with ", h("code", {}, `--bind 0.0.0.0:${window.location.port || (window.location.protocol === "https:" ? "443" : "80")}`),
        " and open the console at this computer's network address."));
    } else if (list.length > 1 || list[0] !== window.location.origin) {
      const select = h("select", { id: "origin-select", "aria-label": "Address trainees use" },
        list.map((o) => h("option", { value: o, selected: o === origin }, o)));
      select.addEventListener("change", () => {
        origin = select.value;
        renderAddress();
      });
      replace(originArea, h("label", { class: "origin-label" }, "Address on the network: ", select));
    } else {
      replace(originArea);
    }
  }

  function renderAddress() {
    if (!info) return;
    const url = `${origin}${info.join_path}`;
    // Break the line between the address and the path, never inside either.
    replace(urlEl, h("span", { class: "nowrap" }, origin.replace(/^https?:\/\//, "")), h("wbr"),
      h("span", { class: "nowrap" }, info.join_path));
    urlEl.title = url;
    loadQr();
  }

  async function loadQr() {
    const key = `${info.session} ${origin}`;
    if (key === qrKey) return;
    qrKey = key;
    qrStatus.textContent = "Drawing the QR code…";
    try {
      const url = await objectUrl(qrPath(info.session, origin), ctx.token());
      if (key !== qrKey) {
        URL.revokeObjectURL(url);
        return;
      }
      if (qrUrl) URL.revokeObjectURL(qrUrl);
      qrUrl = url;
      qrImg.src = url;
      qrImg.hidden = false;
      qrStatus.textContent = "Scan to join";
    } catch (err) {
      qrKey = "";
      qrImg.hidden = true;
      qrStatus.textContent = `No QR code: ${err.message}`;
    }
  }

  return {
    el,
    /** @param {object} state the console state */
    update(state) {
      const changed = !info || info.session !== state.session || info.code !== state.code
        || JSON.stringify(info.lan_urls) !== JSON.stringify(state.lan_urls);
      info = { session: state.session, code: state.code, join_path: state.join_path, lan_urls: state.lan_urls ?? [] };
      codeEl.textContent = state.code;
      if (changed) {
        renderOrigin();
        renderAddress();
      }
    },
    setFull,
  };
}
