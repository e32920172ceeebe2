// The customer return portal: log in (or sign up), pick an order, choose what goes back
// under the location's return policy, submit, print the slip, and follow the return live.
import { Stale, Unauthorized, gql, load, newScreen, session, subscribe, upload } from "./api.js";
import { field, go, h, mount, notice, route, select } from "./dom.js";
import { LANGUAGES, date, language, money, setLanguage, t, word } from "./i18n.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const organization = new URLSearchParams(location.search).get("organization");
let stopLive = () => {};

const HOME = `query Home {
  orders(first: 50) { nodes { id externalReference orderedAt status currency } }
  rmaOrders(first: 50) { nodes { id returnReference createdAt processingStatus deliveryStatus
    financialStatus currency amountDue } }
}`;
const POLICIES = `query Policies {
  rmaConfigurations { portalIsActive needsPictures requestProductState reasonLines expectedResolutions
    locationId }
  locations { id name contact { fullname company email phone address addressComplement city zipcode
    country } }
}`;
const ORDER = `query Order($id: String!, $locationId: String!) {
  order(id: $id) { id externalReference orderedAt currency customer { name email phone } }
  returnableItems(orderId: $id, locationId: $locationId) { orderLineId sku label orderedQuantity
    returnableQuantity unitPrice reason message returnDeadline }
}`;
const RETURN = `id version returnReference createdAt processingStatus deliveryStatus financialStatus
  fulfillmentStatus currency amountDue executedAmount returnSlipUrl expectedResolution
  lines { id sku label quantity reason receivedQuantity }
  comments { id text createdAt }
  availableActions { action allowed }`;
const SHOW = `query Show($id: String!) { rmaOrder(id: $id) { ${RETURN} } }`;
// From the version shown on: a change made between the read and the subscription still comes.
const UPDATED = `subscription Updated($id: String!, $after: Int) {
  rmaOrderUpdated(id: $id, afterVersion: $after) { ${RETURN} } }`;
const CREATE = `mutation Create($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id version } }`;
const SUBMIT = `mutation Submit($id: String!, $v: Int) { rmaOrderSubmit(id: $id, expectedVersion: $v) { id } }`;
const CANCEL = `mutation Cancel($id: String!, $v: Int) { rmaOrderCancel(id: $id, expectedVersion: $v) { id } }`;
const REASONS = ["SIZE_PROBLEM", "COLOR_PROBLEM", "DEFECTIVE", "DAMAGED_PRODUCT", "WRONG_ITEM",
  "NOT_RECEIVED", "UNSATISFIED"];
const STATES = ["BRAND_NEW_WITH_LABEL", "BRAND_NEW_WITHOUT_LABEL", "WORE", "DAMAGED", "DEFECTIVE"];

function header() {
  const languages = select("language", Object.entries(LANGUAGES), language, {
    onchange: (event) => {
      setLanguage(event.target.value);
      render();
    },
  });
  mount(document.getElementById("header"),
    h("h1", {}, h("a", { href: "#/" }, t("app.portal"))),
    h("div", { class: "tools" },
      field(t("language"), languages, "language"),
      session.user && h("button", { type: "button", onclick: () => {
        gql("mutation { logOut }").catch(() => {});
        session.end();
        render();
      } }, t("logout"))));
}

function authForms(said) {
  const message = h("div", { "aria-live": "polite" });
  const input = (name, type, autocomplete) => h("input", { name, type, autocomplete, required: true });
  const logIn = h("form", { class: "card", "aria-labelledby": "login-title", onsubmit: async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const data = await gql(`mutation LogIn($u: String!, $p: String!) { logIn(username: $u, password: $p) {
        token user { id username role } } }`, { u: form.get("username"), p: form.get("password") });
      session.start(data.logIn.token, data.logIn.user);
      render();
    } catch (error) {
      notice(message, error.message, "error");
    }
  } },
  h("h2", { id: "login-title" }, t("login.title")),
  field(t("login.username"), input("username", "text", "username"), "username"),
  field(t("login.password"), input("password", "password", "current-password"), "password"),
  h("button", { type: "submit" }, t("login.submit")));
  // A forgotten password: a link by email (the answer never says whether the account exists).
  const forgot = h("form", { class: "card", "aria-labelledby": "forgot-title", onsubmit: async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await gql(`mutation Forgot($e: String!, $o: String) { passwordResetRequest(email: $e, organizationId: $o) }`,
        { e: form.get("email"), o: organization });
      notice(message, t("reset.sent"));
    } catch (error) {
      notice(message, error.message, "error");
    }
  } },
  h("h2", { id: "forgot-title" }, t("reset.forgot")),
  field(t("portal.email"), input("email", "email", "email"), "forgot-email"),
  h("button", { type: "submit" }, t("reset.send")));
  const signUp = organization && h("form", { class: "card", "aria-labelledby": "signup-title",
    onsubmit: async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      try {
        const data = await gql(`mutation SignUp($input: SignUpInput!) { signUp(input: $input) {
          token user { id username role } } }`, { input: { username: form.get("username"),
          email: form.get("email"), password: form.get("password"), organizationId: organization } });
        session.start(data.signUp.token, data.signUp.user);
        render();
      } catch (error) {
        notice(message, error.message, "error");
      }
    } },
  h("h2", { id: "signup-title" }, t("portal.noAccount"), " ", t("portal.signUp")),
  field(t("login.username"), input("username", "text", "username"), "new-username"),
  field(t("portal.email"), input("email", "email", "email"), "new-email"),
  field(t("login.password"), input("password", "password", "new-password"), "new-password"),
  h("button", { type: "submit" }, t("portal.signUp")));
  // A guest finds its order by its reference and email, without an account.
  const lookUp = organization && h("form", { class: "card", "aria-labelledby": "lookup-title",
    onsubmit: async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      try {
        const data = await gql(`mutation LookUp($o: String!, $r: String!, $e: String!) {
          portalOrderLookup(organizationId: $o, orderReference: $r, email: $e) { token orderId } }`,
        { o: organization, r: form.get("reference"), e: form.get("email") });
        const found = data.portalOrderLookup;
        session.start(found.token, { username: form.get("email"), role: "CUSTOMER" });
        go(`/order/${found.orderId}`);
      } catch (error) {
        notice(message, error.message, "error");
      }
    } },
  h("h2", { id: "lookup-title" }, t("portal.lookup")),
  field(t("portal.reference"), input("reference", "text", "off"), "lookup-reference"),
  field(t("portal.email"), input("email", "email", "email"), "lookup-email"),
  h("button", { type: "submit" }, t("portal.find")));
  mount(main, h("h2", {}, t("portal.welcome")), h("p", {}, t("portal.intro")), message,
    h("div", { class: "grid" }, lookUp, logIn, signUp, forgot));
  if (said) notice(message, said);
}

// The link of a password reset mail: #/reset/<token>.
function resetForm(token) {
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-labelledby": "reset-title", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await gql(`mutation Reset($t: String!, $n: String!) { passwordReset(token: $t, new: $n) }`,
        { t: token, n: new FormData(event.target).get("password") });
      session.end();
      // The token leaves the address bar (and the history) once used.
      history.replaceState(null, "", location.pathname + location.search);
      header();
      authForms(t("reset.done"));
    } catch (error) {
      notice(message, error.message, "error");
    }
  } },
  h("h2", { id: "reset-title" }, t("reset.title")),
  field(t("reset.new"), h("input", { name: "password", type: "password", autocomplete: "new-password",
    required: true, minlength: 8 }), "reset-password"),
  h("button", { type: "submit" }, t("reset.submit")));
  mount(main, message, form);
}

function badges(rma) {
  return h("span", { class: "badges" }, [rma.processingStatus, rma.deliveryStatus, rma.financialStatus]
    .filter(Boolean).map((value) => h("span", { class: `badge s-${value}` }, word(value))));
}

async function home() {
  const data = await load(HOME);
  mount(main,
    h("section", { class: "card" }, h("h2", {}, t("portal.orders")),
      data.orders.nodes.length
        ? h("ul", { class: "choices" }, data.orders.nodes.map((o) => h("li", {},
          h("a", { href: `#/order/${o.id}` }, t("portal.order", { reference: o.externalReference })),
          " · ", t("portal.ordered", { date: date(o.orderedAt) }))))
        : h("p", {}, t("portal.noOrders"))),
    data.rmaOrders.nodes.length > 0 && h("section", { class: "card" }, h("h2", {}, t("portal.returns")),
      h("ul", { class: "choices" }, data.rmaOrders.nodes.map((r) => h("li", {},
        h("a", { href: `#/return/${r.id}` }, t("portal.return", { reference: r.returnReference })), " ",
        badges(r))))));
}

function itemRow(item, configuration, index) {
  const id = `item-${index}`;
  const returnable = item.returnableQuantity > 0;
  const reasons = configuration.reasonLines?.length ? configuration.reasonLines : REASONS;
  return h("fieldset", { class: "item", disabled: !returnable, dataset: { line: item.orderLineId } },
    h("legend", {}, `${item.label} (${item.sku})`),
    returnable
      ? h("p", {}, t("portal.returnable", { count: item.returnableQuantity }),
        item.returnDeadline && ` · ${t("portal.deadline", { date: date(item.returnDeadline) })}`)
      : h("p", { class: "why" }, t("portal.notReturnable", { why: item.reason ? word(item.reason)
        : item.message })),
    returnable && field(t("col.quantity"), h("input", { type: "number", name: "quantity", min: 0,
      max: item.returnableQuantity, value: 0 }), `${id}-quantity`),
    returnable && field(t("portal.reason"), select("reason", reasons.map((r) => [r, word(r)]), reasons[0]),
      `${id}-reason`),
    returnable && configuration.requestProductState && field(t("portal.productState"),
      select("productState", STATES.map((s) => [s, word(s)]), STATES[0]), `${id}-state`),
    returnable && field(configuration.needsPictures ? t("portal.picturesNeeded") : t("portal.pictures"),
      h("input", { type: "file", name: "pictures", multiple: true,
        accept: "image/jpeg,image/png,image/webp,image/heic,.heic" }), `${id}-pictures`));
}

async function orderPage(id) {
  // The first location (in the organization's order) whose portal is open takes returns.
  const policies = await load(POLICIES);
  const byLocation = new Map(policies.rmaConfigurations.map((c) => [c.locationId, c]));
  const place = policies.locations.find((l) => byLocation.get(l.id)?.portalIsActive);
  if (!place) {
    mount(main, h("p", { role: "alert" }, t("portal.closed")));
    return;
  }
  const configuration = byLocation.get(place.id);
  const { order, returnableItems: items } = await load(ORDER, { id, locationId: place.id });
  const resolutions = configuration.expectedResolutions?.length ? configuration.expectedResolutions
    : ["REFUND", "VOUCHER", "REPLACE"];
  const message = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "card", "aria-labelledby": "order-title", onsubmit: async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("fieldset.item:not([disabled])")]
      .filter((set) => Number(set.querySelector("[name=quantity]").value) > 0);
    const lines = chosen.map((set) => ({
      orderLineId: set.dataset.line,
      quantity: Number(set.querySelector("[name=quantity]").value),
      reason: set.querySelector("[name=reason]").value,
      productState: set.querySelector("[name=productState]")?.value,
      pictures: [],
    }));
    if (!lines.length) {
      notice(message, t("portal.nothingChosen"), "error");
      return;
    }
    const customer = order.customer || {};
    const input = {
      expectedResolution: new FormData(form).get("resolution"),
      locationId: configuration.locationId,
      sender: { fullname: customer.name || session.user.username, email: customer.email,
        phone: customer.phone, language },
      deliveryContact: place?.contact || { fullname: place?.name || "" },
      lines,
    };
    try {
      // The pictures first: each line carries the links of its own.
      for (const [i, set] of chosen.entries()) {
        for (const file of set.querySelector("[name=pictures]").files) lines[i].pictures.push(await upload(file));
      }
      const created = (await gql(CREATE, { input })).rmaOrderCreate;
      await gql(SUBMIT, { id: created.id, v: created.version });
      go(`/return/${created.id}`);
    } catch (error) {
      notice(message, error.message, "error");
    }
  } },
  h("h2", { id: "order-title" }, t("portal.order", { reference: order.externalReference })),
  h("p", {}, t("portal.chooseItems")),
  items.map((item, index) => itemRow(item, configuration, index)),
  h("fieldset", {}, h("legend", {}, t("portal.resolution")),
    resolutions.map((r, i) => h("label", { class: "radio" },
      h("input", { type: "radio", name: "resolution", value: r, checked: i === 0 }), " ", word(r)))),
  h("button", { type: "submit" }, t("portal.submit")),
  message);
  mount(main, h("p", {}, h("a", { href: "#/" }, `← ${t("nav.orders")}`)), form);
}

function returnView(rma) {
  const message = h("div", { "aria-live": "polite" });
  const cancel = rma.availableActions.find((a) => a.action === "cancel" && a.allowed);
  return h("article", { class: "card", "aria-labelledby": "return-title" },
    h("h2", { id: "return-title" }, t("portal.return", { reference: rma.returnReference })),
    h("p", { id: "live", role: "status" }, t("portal.live")),
    h("dl", {},
      h("dt", {}, t("portal.status")), h("dd", { id: "status-words" }, badges(rma)),
      h("dt", {}, t("detail.resolution")), h("dd", {}, word(rma.expectedResolution)),
      h("dt", {}, t("detail.amountDue")), h("dd", {}, money(rma.amountDue, rma.currency)),
      rma.executedAmount > 0 && h("dt", {}, t("detail.executed")),
      rma.executedAmount > 0 && h("dd", { id: "refunded" },
        t("portal.refunded", { amount: money(rma.executedAmount, rma.currency) }))),
    rma.returnSlipUrl && h("p", {}, h("a", { href: rma.returnSlipUrl, id: "slip", target: "_blank",
      rel: "noopener" }, t("portal.slip"))),
    h("table", {}, h("thead", {}, h("tr", {}, [t("col.label"), t("col.quantity"), t("col.reason"),
      t("col.received")].map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rma.lines.map((l) => h("tr", {}, h("td", {}, `${l.label || ""} (${l.sku})`),
      h("td", {}, l.quantity), h("td", {}, word(l.reason)), h("td", {}, l.receivedQuantity))))),
    rma.comments.length > 0 && h("section", {}, h("h3", {}, t("portal.comments")),
      h("ul", {}, rma.comments.map((c) => h("li", {}, date(c.createdAt, true), " · ", c.text)))),
    cancel && h("button", { type: "button", onclick: async () => {
      try {
        await gql(CANCEL, { id: rma.id, v: rma.version });
      } catch (error) {
        notice(message, error.message, "error");
      }
    } }, t("portal.cancel")),
    message);
}

async function returnPage(id) {
  const data = await load(SHOW, { id });
  if (!data.rmaOrder) throw new Error(t("error.notFound"));
  let shown = 0;
  const show = (rma) => {
    if (rma.version <= shown) return;
    shown = rma.version;
    mount(main, h("p", {}, h("a", { href: "#/" }, `← ${t("nav.orders")}`)), returnView(rma));
  };
  show(data.rmaOrder);
  stopLive = subscribe(UPDATED, { id, after: shown }, (next) => show(next.rmaOrderUpdated));
}

async function render() {
  newScreen();
  header();
  stopLive();
  stopLive = () => {};
  const reset = route().parts;
  if (reset[0] === "reset" && reset[1]) {
    resetForm(reset[1]);
    return;
  }
  if (!session.token) {
    authForms();
    return;
  }
  status.textContent = t("loading");
  try {
    const { parts } = route();
    if (parts[0] === "order" && parts[1]) await orderPage(parts[1]);
    else if (parts[0] === "return" && parts[1]) await returnPage(parts[1]);
    else await home();
    status.textContent = "";
  } catch (error) {
    if (error instanceof Stale) return;
    status.textContent = "";
    if (error instanceof Unauthorized) return render();
    mount(main, h("div", { class: "card" }, h("h2", {}, t("error.title")),
      h("p", { role: "alert" }, error.code === "NOT_FOUND" ? t("error.notFound") : error.message)));
  }
}

window.addEventListener("hashchange", render);
render();
