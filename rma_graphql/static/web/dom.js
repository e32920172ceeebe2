// Building the page from data: text always goes in as text (never as HTML), so nothing a
// customer typed can run in a page.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

export function mount(root, ...children) {
  root.replaceChildren();
  append(root, children);
}

// A status message read out by screen readers; errors in an alert.
export function notice(root, text, kind = "info") {
  const element = h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  root.replaceChildren(element);
  return element;
}

// A labelled form control: the label names the field for every reader.
export function field(label, control, id) {
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

export function select(name, options, chosen, extra = {}) {
  return h(
    "select",
    { name, ...extra },
    options.map(([value, text]) => h("option", { value, selected: value === chosen }, text)),
  );
}

// The hash route: "#/rma/ID?x=1" -> { parts: ["rma", "ID"], query: URLSearchParams }.
export function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { parts: path.split("/").filter(Boolean), query: new URLSearchParams(query) };
}

export function go(path, query) {
  const text = query && [...query].length ? `?${query}` : "";
  location.hash = `#${path}${text}`;
}

// What a person typed or picked is marked, so that a live update redrawing the screen keeps
// it (by the control's id), and keeps the focus where it was.
document.addEventListener("input", (event) => {
  if (event.target.id) event.target.dataset.typed = "1";
});
document.addEventListener("change", (event) => {
  if (event.target.id) event.target.dataset.typed = "1";
});

export function redraw(root, ...children) {
  const typed = [...root.querySelectorAll("[data-typed]")].map((element) => [element.id, element.value]);
  const focused = root.contains(document.activeElement) ? document.activeElement.id : null;
  mount(root, ...children);
  for (const [id, value] of typed) {
    const element = document.getElementById(id);
    if (element) {
      element.value = value;
      element.dataset.typed = "1";
    }
  }
  if (focused) document.getElementById(focused)?.focus();
}

// A form whose change the server took starts afresh at the next redraw.
export function forget(form) {
  for (const element of form.querySelectorAll("[data-typed]")) delete element.dataset.typed;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}
