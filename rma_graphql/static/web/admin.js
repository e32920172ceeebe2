// The back office: staff log in, list and filter returns (the filters live in the URL), open
// one, act on it with the actions the server says are available, and see changes live.
import { GraphQLError, Stale, Unauthorized, gql, load, newScreen, session, subscribe } from "./api.js";
import { field, forget, go, h, mount, notice, redraw, route, select } from "./dom.js";
import { LANGUAGES, actionName, date, language, money, setLanguage, t, word } from "./i18n.js";
import { change } from "./change.js";
import { dashboard } from "./dashboard.js";
import { warehouse } from "./warehouse.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
let stopLive = () => {};

const PROCESSING = ["NEW", "REQUESTED", "ACCEPTED", "PROCESSING", "ON_HOLD", "ANOMALY", "COMPLETE",
  "REJECTED", "CANCELED", "DELETED"];
const DELIVERY = ["PENDING", "HANDLED", "PROCESSING", "DELIVERING", "DELIVERED", "DELIVERED_TO_SENDER",
  "CANCELED", "ERROR"];
const FINANCIAL = ["PENDING", "REFUNDED", "PARTIALLY_REFUNDED", "REFUND_REJECTED", "CANCELED", "NONE",
  "EXECUTION_ERROR"];
const FULFILLMENT = ["PENDING", "IN_PROGRESS", "ERROR", "CANCELED", "COMPLETE"];
const SORTS = ["CREATED_AT_DESC", "CREATED_AT_ASC", "UPDATED_AT_DESC", "RETURN_NUMBER_DESC",
  "RETURN_NUMBER_ASC"];
// The state-machine actions a button runs; those with a reason ask for one.
const ACTIONS = {
  submit: "rmaOrderSubmit", accept: "rmaOrderAccept", reject: "rmaOrderReject", cancel: "rmaOrderCancel",
  hold: "rmaOrderHold", resume: "rmaOrderResume", flagAnomaly: "rmaOrderFlagAnomaly",
  resolveAnomaly: "rmaOrderResolveAnomaly", delete: "rmaOrderDelete",
  requestFulfillment: "rmaOrderRequestFulfillment", startFulfillment: "rmaOrderStartFulfillment",
  completeProcessing: "rmaOrderCompleteProcessing",
};
const WITH_REASON = new Set(["reject", "cancel", "hold", "flagAnomaly"]);

const LIST = `query List($filter: RmaOrderFilterInput, $first: Int!, $after: String, $sort: RmaOrderSort!) {
  rmaOrders(filter: $filter, first: $first, after: $after, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id returnReference currency createdAt amountDue processingStatus deliveryStatus
      financialStatus fulfillmentStatus sender { fullname email } customState { code name } }
  }
}`;
// The filters' choices; staff without view_rma_configurations (the warehouse) go without.
const CHOICES = `query Choices { locations { id name } rmaCustomStates { code name } }`;

export const RMA_FIELDS = `id version returnReference currency createdAt updatedAt expectedResolution
  processingStatus deliveryStatus financialStatus fulfillmentStatus returnSlipUrl comment
  amountDue executedAmount remainingDue
  customState { code name }
  location { id name }
  sender { fullname email phone address city zipcode country }
  deliveryContact { fullname company address city zipcode country }
  lines { id sku label quantity receivedQuantity reason productState price serialNumber pictures }
  linkedOrders { orderId externalReference }
  shipments { id reference carrierName tracking state lastEvent { event date } }
  financialResolutions { id type status amount reference createdAt }
  availableActions { action allowed reason }
  comments { id text visibility createdAt author { type name } }
  history(first: 100) { id sequence type occurredAt message actor { type name } }`;

const DETAIL = `query Detail($id: String!) { rmaOrder(id: $id) { ${RMA_FIELDS} } }`;
// From the version shown on: a change made between the read and the subscription still comes.
const UPDATED = `subscription Updated($id: String!, $after: Int) {
  rmaOrderUpdated(id: $id, afterVersion: $after) { ${RMA_FIELDS} } }`;
const FEED = `subscription Feed { rmaOrderEvents { rmaOrderId sequence type } }`;
const COMMENT = `mutation Comment($id: String!, $text: String!, $visibility: RmaCommentVisibility!,
  $expectedVersion: Int) {
  rmaOrderCommentAdd(id: $id, text: $text, visibility: $visibility, expectedVersion: $expectedVersion) { id }
}`;

function header() {
  const user = session.user;
  const languages = select("language", Object.entries(LANGUAGES), language, {
    onchange: (event) => {
      setLanguage(event.target.value);
      render();
    },
  });
  mount(
    document.getElementById("header"),
    h("h1", {}, h("a", { href: "#/" }, t("app.admin"))),
    user &&
      h("nav", { "aria-label": "main" },
        h("a", { href: "#/" }, t("nav.list")),
        h("a", { href: "#/warehouse" }, t("nav.warehouse")),
        h("a", { href: "#/dashboard" }, t("nav.dashboard"))),
    h("div", { class: "tools" },
      field(t("language"), languages, "language"),
      user && h("span", { class: "who" }, `${user.username} (${user.role})`),
      user && h("button", { type: "button", onclick: logOut }, t("logout"))),
  );
}

async function logOut() {
  try {
    await gql("mutation { logOut }");
  } catch {
    // The token may already be gone: the session ends either way.
  }
  session.end();
  render();
}

function loginForm() {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const data = await gql(
          `mutation LogIn($u: String!, $p: String!) { logIn(username: $u, password: $p) {
            token user { id username role } } }`,
          { u: username.value, p: password.value });
        session.start(data.logIn.token, data.logIn.user);
        render();
      } catch (error) {
        notice(message, error.message, "error");
      }
    } },
    h("h2", { id: "login-title" }, t("login.title")),
    field(t("login.username"), username, "username"),
    field(t("login.password"), password, "password"),
    h("button", { type: "submit" }, t("login.submit")),
    message);
  mount(main, form);
  username.focus();
}

function statusBadges(rma) {
  return h("span", { class: "badges" },
    [["processing", rma.processingStatus], ["delivery", rma.deliveryStatus],
      ["financial", rma.financialStatus], ["fulfillment", rma.fulfillmentStatus]]
      .filter(([, value]) => value)
      .map(([dimension, value]) => h("span", { class: `badge ${dimension} s-${value}`,
        title: t(`list.${dimension}Status`) }, word(value))),
    rma.customState && h("span", { class: "badge custom" }, rma.customState.name));
}

function filterOf(query) {
  const filter = {};
  for (const name of ["processingStatus", "deliveryStatus", "financialStatus", "fulfillmentStatus",
    "customState"]) {
    if (query.get(name)) filter[name] = [query.get(name)];
  }
  if (query.get("locationId")) filter.locationId = query.get("locationId");
  if (query.get("search")) filter.search = query.get("search");
  if (query.get("from")) filter.createdAfter = new Date(`${query.get("from")}T00:00:00`).toISOString();
  if (query.get("until")) filter.createdBefore = new Date(`${query.get("until")}T23:59:59`).toISOString();
  return filter;
}

function filterForm(query, data, sort) {
  const any = [["", t("list.any")]];
  const choice = (name, values) => select(name, [...any, ...values.map((v) => [v, word(v)])],
    query.get(name) || "");
  return h("form", { class: "filters", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(event.target)) if (value) next.set(name, value);
    go("/", next);
  } },
    field(t("list.search"), h("input", { name: "search", type: "search", value: query.get("search") || "" }),
      "f-search"),
    field(t("list.processingStatus"), choice("processingStatus", PROCESSING), "f-processing"),
    field(t("list.deliveryStatus"), choice("deliveryStatus", DELIVERY), "f-delivery"),
    field(t("list.financialStatus"), choice("financialStatus", FINANCIAL), "f-financial"),
    field(t("list.fulfillmentStatus"), choice("fulfillmentStatus", FULFILLMENT), "f-fulfillment"),
    field(t("list.location"), select("locationId", [...any, ...data.locations.map((l) => [l.id, l.name])],
      query.get("locationId") || ""), "f-location"),
    field(t("list.customState"), select("customState",
      [...any, ...data.rmaCustomStates.map((s) => [s.code, s.name])], query.get("customState") || ""),
    "f-custom"),
    field(t("list.createdAfter"), h("input", { name: "from", type: "date", value: query.get("from") || "" }),
      "f-from"),
    field(t("list.createdBefore"), h("input", { name: "until", type: "date", value: query.get("until") || "" }),
      "f-until"),
    field(t("list.sort"), select("sort", SORTS.map((s) => [s, t(`sort.${s}`)]), sort), "f-sort"),
    h("div", { class: "buttons" },
      h("button", { type: "submit" }, t("list.apply")),
      h("button", { type: "button", onclick: () => go("/") }, t("list.reset"))));
}

function results(query, page) {
  const rows = page.nodes.map((rma) => h("tr", { dataset: { id: rma.id } },
    h("td", {}, h("a", { href: `#/rma/${rma.id}` }, rma.returnReference)),
    h("td", {}, rma.sender.fullname || rma.sender.email || "—"),
    h("td", {}, statusBadges(rma)),
    h("td", {}, date(rma.createdAt, true)),
    h("td", { class: "number" }, money(rma.amountDue, rma.currency))));
  const next = new URLSearchParams(query);
  next.set("after", page.pageInfo.endCursor || "");
  const first = new URLSearchParams(query);
  first.delete("after");
  return [
    h("p", { role: "status", id: "count" }, t("list.count", { count: page.totalCount }), " · ", t("list.live")),
    page.nodes.length
      ? h("table", { class: "list" },
        h("thead", {}, h("tr", {},
          [t("col.reference"), t("col.sender"), t("detail.statuses"), t("col.created"), t("col.amount")]
            .map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, rows))
      : h("p", {}, t("list.empty")),
    h("nav", { class: "pages", "aria-label": "pages" },
      query.get("after") && h("a", { href: `#/?${first}` }, t("list.first")),
      page.pageInfo.hasNextPage && h("a", { href: `#/?${next}`, rel: "next" }, t("list.next"))),
  ];
}

async function list(query) {
  const sort = SORTS.includes(query.get("sort")) ? query.get("sort") : "CREATED_AT_DESC";
  const variables = { filter: filterOf(query), first: 25, after: query.get("after"), sort };
  const [data, choices] = await Promise.all([
    load(LIST, variables),
    load(CHOICES).catch((error) => {
      if (error instanceof Stale) throw error;
      return { locations: [], rmaCustomStates: [] };
    }),
  ]);
  const place = h("div", { id: "results" }, results(query, data.rmaOrders));
  mount(main, h("h2", {}, t("nav.list")), filterForm(query, choices, sort), place);
  // New and changed returns: the results (not the filters being typed) are drawn again, at
  // most every half second.
  let timer = null;
  const again = async () => {
    try {
      mount(place, results(query, (await load(LIST, variables)).rmaOrders));
    } catch {
      // Replaced by another screen, or gone for a moment: the next change tries again.
    }
  };
  const stop = subscribe(FEED, {}, () => {
    clearTimeout(timer);
    timer = setTimeout(again, 500);
  }, () => {});
  stopLive = () => {
    clearTimeout(timer);
    stop();
  };
}

function section(title, ...content) {
  return h("section", { class: "card" }, h("h3", {}, title), ...content);
}

function table(headings, rows) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headings.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))));
}

function pictureLinks(line) {
  return line.pictures.length
    ? line.pictures.map((url, i) => h("a", { href: url, target: "_blank", rel: "noopener", class: "picture",
      "aria-label": `${t("col.pictures")} ${i + 1} (${line.sku})` }, `${i + 1}`))
    : "—";
}

function contact(c) {
  if (!c) return "—";
  return [c.fullname, c.company, c.email, c.phone, c.address, [c.zipcode, c.city].filter(Boolean).join(" "),
    c.country].filter(Boolean).join(", ");
}

function actions(rma, onDone) {
  const message = h("div", { "aria-live": "polite", id: "action-message" });
  const reason = h("input", { name: "reason", maxlength: 1000 });
  const buttons = rma.availableActions
    .filter((a) => ACTIONS[a.action])
    .map((a) => {
      const describedBy = a.allowed ? null : `why-${a.action}`;
      return h("div", { class: "action" },
        h("button", { type: "button", disabled: !a.allowed, "aria-describedby": describedBy,
          dataset: { action: a.action },
          onclick: async () => {
            const name = ACTIONS[a.action];
            const withReason = WITH_REASON.has(a.action);
            const args = withReason ? "$id: String!, $v: Int, $reason: String" : "$id: String!, $v: Int";
            const pass = withReason ? "id: $id, expectedVersion: $v, reason: $reason"
              : "id: $id, expectedVersion: $v";
            const variables = { id: rma.id, v: rma.version };
            if (withReason) variables.reason = reason.value || (a.action === "flagAnomaly" ? "—" : null);
            const query = `mutation Act(${args}) { ${name}(${pass}) { id version } }`;
            if (await change(query, variables, "action-message", onDone, () => forget(reason.parentElement))) {
              notice(document.getElementById("action-message"), t("action.done", { action: actionName(a.action) }));
            }
          } }, actionName(a.action)),
        !a.allowed && h("small", { id: describedBy, class: "why" }, a.reason));
    });
  return section(t("detail.actions"),
    field(t("detail.reason"), reason, "action-reason"),
    h("div", { class: "actions" }, buttons),
    message);
}

// Run a change of the return; a version conflict reloads it and says so.
const RESOLVE = `mutation Resolve($id: String!, $input: RmaFinancialResolutionInput!, $v: Int) {
  rmaFinancialResolutionCreate(rmaOrderId: $id, input: $input, expectedVersion: $v) { id } }`;
const EXECUTE = `mutation Execute($id: String!, $reference: String, $v: Int) {
  rmaFinancialResolutionExecute(id: $id, reference: $reference, expectedVersion: $v) { id } }`;
const DECLINE = `mutation Decline($id: String!, $v: Int) {
  rmaFinancialResolutionReject(id: $id, expectedVersion: $v) { id } }`;

// Finance: refunds and vouchers, created for what is due and paid (or rejected) here.
function finance(rma, onDone) {
  const c = rma.currency;
  const message = h("div", { "aria-live": "polite", id: "finance-message" });
  const can = (action) => rma.availableActions.find((a) => a.action === action) || { allowed: false };
  const create = can("createFinancialResolution");
  const kind = select("type", [["REFUND", word("REFUND")], ["VOUCHER", word("VOUCHER")]],
    rma.expectedResolution === "VOUCHER" ? "VOUCHER" : "REFUND");
  const amount = h("input", { name: "amount", type: "number", step: "0.01", min: "0.01",
    placeholder: String(rma.remainingDue) });
  const rows = (rma.financialResolutions || []).map((r) => {
    const reference = h("input", { name: "reference", id: `ref-${r.id}`, "aria-label": t("finance.reference") });
    const pending = r.status === "PENDING" || r.status === "FAILED";
    return h("tr", { dataset: { resolution: r.id } },
      h("td", {}, word(r.type)), h("td", { class: "number" }, money(r.amount, c)),
      h("td", {}, word(r.status)), h("td", {}, r.reference || "—"),
      h("td", {}, pending && h("div", { class: "inline" },
        r.type === "REFUND" && reference,
        h("button", { type: "button", disabled: !can("executeFinancialResolution").allowed,
          onclick: () => change(EXECUTE, { id: r.id, reference: reference.value || null, v: rma.version },
            "finance-message", onDone, () => forget(reference.parentElement)) }, t("finance.execute")),
        h("button", { type: "button", class: "secondary",
          disabled: !can("rejectFinancialResolution").allowed,
          onclick: () => change(DECLINE, { id: r.id, v: rma.version }, "finance-message", onDone) },
        t("finance.reject")))));
  });
  return section(t("detail.resolutions"),
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, [t("detail.resolution"), t("col.price"), t("col.state"),
        t("finance.reference"), ""].map((name) => h("th", { scope: "col" }, name)))), h("tbody", {}, rows))
      : h("p", {}, t("detail.none")),
    h("form", { class: "inline", onsubmit: (event) => {
      event.preventDefault();
      const input = { type: kind.value, amount: amount.value ? Number(amount.value) : null };
      change(RESOLVE, { id: rma.id, input, v: rma.version }, "finance-message", onDone,
        () => forget(event.target));
    } },
    field(t("finance.type"), kind, "finance-type"),
    field(t("finance.amount"), amount, "finance-amount"),
    h("button", { type: "submit", disabled: !create.allowed,
      "aria-describedby": create.allowed ? null : "why-finance" }, t("finance.create"))),
    !create.allowed && create.reason && h("small", { id: "why-finance", class: "why" }, create.reason),
    message);
}

function comments(rma, onDone) {
  const text = h("textarea", { name: "text", required: true, rows: 2, maxlength: 5000 });
  const visibility = select("visibility", [["INTERNAL", t("visibility.INTERNAL")],
    ["CUSTOMER", t("visibility.CUSTOMER")]], "INTERNAL");
  const message = h("div", { "aria-live": "polite", id: "comment-message" });
  return section(t("detail.comments"),
    h("ul", { class: "comments" }, rma.comments.map((c) => h("li", {},
      h("span", { class: `badge v-${c.visibility}` }, t(`visibility.${c.visibility}`)), " ",
      h("strong", {}, c.author.name || c.author.type), " · ", date(c.createdAt, true),
      h("p", {}, c.text)))),
    h("form", { onsubmit: async (event) => {
      event.preventDefault();
      const variables = { id: rma.id, text: text.value, visibility: visibility.value,
        expectedVersion: rma.version };
      change(COMMENT, variables, "comment-message", onDone, () => forget(event.target));
    } },
    field(t("detail.comment"), text, "comment-text"),
    field(t("detail.visibility"), visibility, "comment-visibility"),
    h("button", { type: "submit" }, t("detail.addComment")),
    message));
}

export function rmaView(rma, onDone) {
  const c = rma.currency;
  return h("article", { class: "detail", "aria-labelledby": "rma-title" },
    h("p", {}, h("a", { href: "#/" }, `← ${t("detail.back")}`)),
    h("h2", { id: "rma-title" }, rma.returnReference, " ",
      h("small", {}, t("detail.version", { version: rma.version }))),
    h("p", { id: "statuses" }, statusBadges(rma)),
    h("div", { class: "grid" },
      section(t("detail.lines"), table(
        [t("col.sku"), t("col.label"), t("col.quantity"), t("col.received"), t("col.reason"), t("col.state"),
          t("col.price"), t("col.pictures")],
        rma.lines.map((l) => [l.sku, l.label || "—", l.quantity, l.receivedQuantity, word(l.reason),
          word(l.productState), money(l.price, c), pictureLinks(l)]))),
      section(t("detail.money"), h("dl", {},
        h("dt", {}, t("detail.resolution")), h("dd", {}, word(rma.expectedResolution)),
        h("dt", {}, t("detail.amountDue")), h("dd", { id: "amount-due" }, money(rma.amountDue, c)),
        h("dt", {}, t("detail.executed")), h("dd", {}, money(rma.executedAmount, c)),
        h("dt", {}, t("detail.remaining")), h("dd", {}, money(rma.remainingDue, c))),
      rma.returnSlipUrl && h("p", {}, h("a", { href: rma.returnSlipUrl, target: "_blank",
        rel: "noopener" }, t("detail.slip")))),
      actions(rma, onDone),
      section(t("detail.contacts"), h("dl", {},
        h("dt", {}, t("detail.sender")), h("dd", {}, contact(rma.sender)),
        h("dt", {}, t("detail.delivery")), h("dd", {}, contact(rma.deliveryContact)),
        h("dt", {}, t("detail.orders")),
        h("dd", {}, (rma.linkedOrders || []).map((o) => o.externalReference || o.orderId).join(", ") || "—"))),
      section(t("detail.shipments"), (rma.shipments || []).length
        ? h("ul", {}, rma.shipments.map((s) => h("li", {}, [s.carrierName, s.trackingNumber].filter(Boolean)
          .join(" "), h("ul", {}, s.events.map((e) => h("li", {}, `${word(e.event)} · ${date(e.date, true)}`))))))
        : h("p", {}, t("detail.none"))),
      finance(rma, onDone),
      comments(rma, onDone),
      section(t("detail.history"), h("ol", { class: "history" }, rma.history.map((e) => h("li", {},
        h("time", { datetime: e.occurredAt }, date(e.occurredAt, true)), " · ",
        h("strong", {}, e.actor.name || e.actor.type), " · ", e.message))))));
}

async function detail(id) {
  // A version is drawn once: a reload and a live update bring the same one.
  let shown = 0;
  const reload = async () => {
    const data = await load(DETAIL, { id });
    if (!data.rmaOrder) throw new GraphQLError([{ message: t("error.notFound"), extensions: {} }]);
    show(data.rmaOrder);
  };
  const show = (rma) => {
    if (rma.version <= shown) return;
    shown = rma.version;
    redraw(main, rmaView(rma, reload));
  };
  await reload();
  stopLive = subscribe(UPDATED, { id, after: shown }, (data) => show(data.rmaOrderUpdated), () => {});
}

async function refresh() {
  const { parts, query } = route();
  stopLive();
  stopLive = () => {};
  if (parts[0] === "rma" && parts[1]) await detail(parts[1]);
  else if (parts[0] === "warehouse") stopLive = await warehouse(main, query);
  else if (parts[0] === "dashboard") stopLive = await dashboard(main, query);
  else await list(query);
}

async function render() {
  newScreen();
  header();
  if (!session.token) {
    stopLive();
    loginForm();
    return;
  }
  status.textContent = t("loading");
  try {
    await refresh();
    status.textContent = "";
  } catch (error) {
    if (error instanceof Stale) return;
    status.textContent = "";
    if (error instanceof Unauthorized) return render();
    mount(main, h("div", { class: "card" }, h("h2", {}, t("error.title")),
      h("p", { role: "alert" }, error.message)));
  }
}

window.addEventListener("hashchange", render);
render();
