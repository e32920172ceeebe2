// The dashboard: the figures rmaStatistics computes in the database, drawn as bar charts
// (inline SVG) each with its numbers in a table, for every reader.
import { load } from "./api.js";
import { field, go, h, mount, svg } from "./dom.js";
import { date, day, money, t, word } from "./i18n.js";

const STATISTICS = `query Statistics($since: DateTime, $until: DateTime) {
  rmaStatistics(since: $since, until: $until) {
    since until
    returnsPerDay { day processingStatus count }
    topReasons { reason lines units }
    returnRateByProduct { productId name soldUnits returnedUnits rate }
    paidResolutions { type currency count amount averageHoursToPayment }
  }
}`;

// Horizontal bars: [label, value, text] each; the widest is the largest value.
function bars(title, rows) {
  const height = 26;
  const largest = Math.max(1, ...rows.map(([, value]) => value));
  return svg("svg", { viewBox: `0 0 600 ${Math.max(rows.length, 1) * height}`, role: "img",
    "aria-label": title, class: "chart" },
  rows.map(([label, value, text], i) => svg("g", { transform: `translate(0 ${i * height})` },
    svg("text", { x: 0, y: 17, class: "label" }, label),
    svg("rect", { x: 200, y: 4, height: 18, width: Math.max(2, (value / largest) * 300), class: "bar" }),
    svg("text", { x: 210 + (value / largest) * 300, y: 17 }, text))));
}

function card(title, chart, headings, rows, id) {
  return h("section", { class: "card", id },
    h("h3", {}, title),
    rows.length ? chart : h("p", {}, t("detail.none")),
    rows.length > 0 && h("details", {}, h("summary", {}, t("dashboard.numbers")),
      h("table", {},
        h("thead", {}, h("tr", {}, headings.map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))))));
}

export async function dashboard(root, query) {
  const variables = {};
  if (query.get("from")) variables.since = new Date(`${query.get("from")}T00:00:00`).toISOString();
  if (query.get("until")) variables.until = new Date(`${query.get("until")}T23:59:59`).toISOString();
  const stats = (await load(STATISTICS, variables)).rmaStatistics;
  const days = new Map();
  for (const d of stats.returnsPerDay) days.set(d.day, (days.get(d.day) || 0) + d.count);
  const total = [...days.values()].reduce((a, b) => a + b, 0);
  const refunds = stats.paidResolutions.filter((r) => r.type === "REFUND");
  const hours = refunds.length && refunds.every((r) => r.averageHoursToPayment != null)
    ? refunds.reduce((sum, r) => sum + r.averageHoursToPayment * r.count, 0)
      / refunds.reduce((sum, r) => sum + r.count, 0)
    : null;
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(event.target)) if (value) next.set(name, value);
    go("/dashboard", next);
  } },
  field(t("list.createdAfter"), h("input", { name: "from", type: "date", value: query.get("from") || "" }),
    "d-from"),
  field(t("list.createdBefore"), h("input", { name: "until", type: "date", value: query.get("until") || "" }),
    "d-until"),
  h("div", { class: "buttons" }, h("button", { type: "submit" }, t("list.apply"))));
  mount(root,
    h("h2", {}, t("nav.dashboard")),
    form,
    h("p", { id: "window" }, t("dashboard.window", { since: date(stats.since), until: date(stats.until) })),
    h("div", { class: "grid" },
      h("section", { class: "card", id: "totals" }, h("h3", {}, t("dashboard.totals")), h("dl", {},
        h("dt", {}, t("dashboard.returns")), h("dd", { id: "total-returns" }, total),
        h("dt", {}, t("dashboard.timeToRefund")),
        h("dd", { id: "time-to-refund" }, hours == null ? "—" : t("dashboard.hours", { hours: hours.toFixed(1) })),
        stats.paidResolutions.map((r) => [h("dt", {}, `${word(r.type)} (${r.count})`),
          h("dd", { class: `paid-${r.type}` }, money(r.amount, r.currency))]))),
      card(t("dashboard.perDay"), bars(t("dashboard.perDay"), [...days].map(([d, n]) => [day(d), n, n])),
        [t("dashboard.day"), t("list.processingStatus"), t("dashboard.count")],
        stats.returnsPerDay.map((d) => [day(d.day), word(d.processingStatus), d.count]), "per-day"),
      card(t("dashboard.reasons"), bars(t("dashboard.reasons"), stats.topReasons.map((r) => [word(r.reason),
        r.units, r.units])),
      [t("col.reason"), t("dashboard.lines"), t("dashboard.units")],
      stats.topReasons.map((r) => [word(r.reason), r.lines, r.units]), "reasons"),
      card(t("dashboard.rates"), bars(t("dashboard.rates"), stats.returnRateByProduct.map((p) => [p.name,
        p.rate ?? 0, p.rate == null ? "—" : `${(p.rate * 100).toFixed(1)} %`])),
      [t("dashboard.product"), t("dashboard.sold"), t("dashboard.returned"), t("dashboard.rate")],
      stats.returnRateByProduct.map((p) => [p.name, p.soldUnits, p.returnedUnits,
        p.rate == null ? "—" : `${(p.rate * 100).toFixed(1)} %`]), "rates"),
      card(t("dashboard.paid"), bars(t("dashboard.paid"), stats.paidResolutions.map((r) => [
        `${word(r.type)} ${r.currency}`, r.amount, money(r.amount, r.currency)])),
      [t("detail.resolution"), t("dashboard.count"), t("col.price")],
      stats.paidResolutions.map((r) => [word(r.type), r.count, money(r.amount, r.currency)]), "paid")));
  return () => {};
}
