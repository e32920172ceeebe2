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
