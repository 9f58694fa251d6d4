// Tiny DOM helpers. Every piece of text goes in as a text node, never as markup, so
// names, chat lines and scenario texts can never inject HTML into the page.

/**
 * Creates an element. `attrs` may hold plain attributes, `class`, `dataset`, `style`
 * (an object), `on` (event name → handler), and boolean properties such as `disabled`.
 * Children may be nodes, strings (added as text), numbers, arrays, or null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Same as `h` for SVG elements, which need their namespace. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

const PROPERTIES = new Set(["disabled", "checked", "value", "readOnly", "hidden", "selected", "maxLength"]);

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (PROPERTIES.has(key)) el[key] = value;
    else if (value === false) continue;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** Appends children (nodes, text, arrays, or nothing) to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces all of `el`'s children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Looks up a required element by id inside the document. */
export function byId(id) {
  return document.getElementById(id);
}
