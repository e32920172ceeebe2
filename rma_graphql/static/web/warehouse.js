// The warehouse screen: scan (or type) a return slip's reference, then receive and inspect
// its lines, all from the keyboard. A keyboard-wedge scanner types the Code 128 and Enter.
import { gql, load, subscribe } from "./api.js";
import { change } from "./change.js";
import { field, forget, go, h, mount, notice, redraw, select } from "./dom.js";
import { t, word } from "./i18n.js";

const FIND = `query Find($search: String!) {
  rmaOrders(filter: {search: $search}, first: 5) { nodes { id returnReference } }
}`;
const RMA = `id version returnReference processingStatus deliveryStatus
  availableActions { action allowed }
  lines { id sku label quantity receivedQuantity inspectedQuantity acceptedQuantity }`;
const START = `mutation Start($id: String!, $v: Int) { rmaOrderStartFulfillment(id: $id, expectedVersion: $v) { id } }`;
const LOAD = `query Load($id: String!) { rmaOrder(id: $id) { ${RMA} } }`;
// From the version shown on: a change made between the read and the subscription still comes.
const UPDATED = `subscription Updated($id: String!, $after: Int) {
  rmaOrderUpdated(id: $id, afterVersion: $after) { ${RMA} } }`;
const RECEIVE = `mutation Receive($id: String!, $line: String!, $quantity: Int!, $serials: [String!],
  $v: Int) {
  rmaOrderLineReceive(rmaOrderId: $id, lineId: $line, quantity: $quantity, serialNumbers: $serials,
    expectedVersion: $v) { id }
}`;
const INSPECT = `mutation Inspect($line: String!, $input: RmaLineInspectionInput!, $v: Int) {
  rmaOrderLineInspect(lineId: $line, input: $input, expectedVersion: $v) { id }
}`;
const RESULTS = ["ACCEPTED", "REJECTED"];
const DISPOSITIONS = ["RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_CUSTOMER"];

function scanForm(root, reference) {
  const input = h("input", { name: "reference", autocomplete: "off", value: reference || "",
    inputmode: "text", required: true });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", role: "search", onsubmit: async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    const found = (await gql(FIND, { search: text })).rmaOrders.nodes;
    const exact = found.find((rma) => rma.returnReference.toLowerCase() === text.toLowerCase());
    if (!exact) {
      notice(message, `${t("error.notFound")} ${text}`, "error");
      input.select();
      return;
    }
    go(`/warehouse/${exact.id}`);
  } },
  field(t("warehouse.scan"), input, "scan"),
  h("button", { type: "submit" }, t("warehouse.open")),
  message);
  root.append(form);
  return input;
}

function lineForm(rma, line, reload) {
  const message = h("div", { "aria-live": "polite", id: `message-${line.id}` });
  const open = line.quantity - line.receivedQuantity;
  const toInspect = line.receivedQuantity - line.inspectedQuantity;
  const quantity = h("input", { type: "number", min: 1, value: Math.max(open, 1), name: "quantity" });
  const serials = h("input", { name: "serials", autocomplete: "off" });
  const inspectQuantity = h("input", { type: "number", min: 1, value: Math.max(toInspect, 1),
    name: "inspectQuantity" });
  const result = select("result", RESULTS.map((r) => [r, word(r)]), "ACCEPTED");
  const disposition = select("disposition", DISPOSITIONS.map((d) => [d, t(`disposition.${d}`)]), "RESTOCK");
  const run = (form, query, variables) =>
    change(query, { ...variables, v: rma.version }, message.id, reload, () => forget(form));
  const id = line.id;
  return h("section", { class: "card line", dataset: { sku: line.sku } },
    h("h3", {}, `${line.sku} · ${line.label || ""}`),
    h("p", {}, t("warehouse.counts", { quantity: line.quantity, received: line.receivedQuantity,
      inspected: line.inspectedQuantity })),
    h("form", { class: "inline", onsubmit: (event) => {
      event.preventDefault();
      const list = serials.value.split(/[\s,]+/).filter(Boolean);
      run(event.target, RECEIVE, { id: rma.id, line: line.id, quantity: Number(quantity.value),
        serials: list.length ? list : null });
    } },
    field(t("warehouse.receiveQuantity"), quantity, `receive-${id}`),
    field(t("warehouse.serials"), serials, `serials-${id}`),
    h("button", { type: "submit" }, t("warehouse.receive"))),
    h("form", { class: "inline", onsubmit: (event) => {
      event.preventDefault();
      run(event.target, INSPECT, { line: line.id, input: { quantity: Number(inspectQuantity.value), result: result.value,
        disposition: disposition.value } });
    } },
    field(t("warehouse.inspectQuantity"), inspectQuantity, `inspect-${id}`),
    field(t("warehouse.result"), result, `result-${id}`),
    field(t("warehouse.disposition"), disposition, `disposition-${id}`),
    h("button", { type: "submit", disabled: toInspect <= 0 }, t("warehouse.inspect"))),
    message);
}

// Renders the screen in root; answers the function that stops its live updates.
export async function warehouse(root, query, id = location.hash.split("/")[2]) {
  mount(root, h("h2", {}, t("nav.warehouse")));
  const rmaId = id && id.split("?")[0];
  if (!rmaId) {
    scanForm(root, query.get("reference")).focus();
    return () => {};
  }
  const place = h("div");
  root.append(place);
  // A version is drawn once: a reload and a live update bring the same one.
  let shown = 0;
  const show = (rma) => {
    if (rma.version <= shown) return;
    shown = rma.version;
    // An accepted return is opened for receiving first (its processing starts).
    const start = rma.availableActions.find((a) => a.action === "startFulfillment" && a.allowed);
    const message = h("div", { "aria-live": "polite", id: "start-message" });
    redraw(place,
      h("h3", { id: "rma-title" }, h("a", { href: `#/rma/${rma.id}` }, rma.returnReference), " · ",
        word(rma.processingStatus), " · ", word(rma.deliveryStatus)),
      start && h("p", {}, h("button", { type: "button", id: "start", onclick: async () => {
        if (await change(START, { id: rma.id, v: rma.version }, message.id, reload)) {
          place.querySelector("input")?.focus();
        }
      } }, t("warehouse.start")), message),
      rma.lines.map((line) => lineForm(rma, line, reload)));
  };
  const reload = async () => show((await load(LOAD, { id: rmaId })).rmaOrder);
  scanForm(root, "");
  await reload();
  (place.querySelector("#start") || place.querySelector("input"))?.focus();
  return subscribe(UPDATED, { id: rmaId, after: shown }, (data) => show(data.rmaOrderUpdated));
}
