// The call report page (reception and admin): from/to and grouping, the report's every column in a
// table, offered/answered/missed and the times to answer (p50, p90) per row as bar charts, and the same report as CSV.
import { t, count } from "./i18n.js";
import { call } from "./api.js";
import { startDeskPage } from "./desk-page.js";
import { el } from "./dom.js";
import { barChart } from "./reports-chart.js";

const $ = (id) => document.getElementById(id);
const COLUMNS = [
  "key", "offered", "answered", "missed", "abandoned", "answer_rate", "answer_p50_s", "answer_p90_s",
  "talk_total_s", "talk_mean_s", "callbacks", "callback_median_s",
];
const state = { rows: [], group: "day", employees: new Map(), purposes: new Map() };

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// The days are the browser's own: from its midnight on "from" to its midnight after "to".
function query(format) {
  const from = new Date(`${$("rp-from").value}T00:00:00`);
  const to = new Date(`${$("rp-to").value}T00:00:00`);
  to.setDate(to.getDate() + 1);
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), group: $("rp-group").value });
  if (format) q.set("format", format);
  return `/api/v1/reports/calls?${q}`;
}

function label(key) {
  if (state.group === "employee") return key ? state.employees.get(key) || key : t("report_nobody");
  if (state.group === "purpose") {
    if (!key) return t("report_no_purpose");
    const known = t("purpose_" + key);
    return known === "purpose_" + key ? state.purposes.get(key) || key : known;
  }
  if (state.group === "hour") return key.replace("T", " ");
  return key;
}

function cell(name, value) {
  if (name === "key") return el("th", { scope: "row", text: label(value) });
  let text = "—";
  if (value !== null && value !== undefined) {
    if (name === "answer_rate") text = `${count(Math.round(value * 1000) / 10)} %`;
    else if (name.endsWith("_s") && name !== "talk_total_s") text = count(Math.round(value * 10) / 10);
    else text = count(value);
  }
  return el("td", { class: "num", "data-col": name, text });
}

function render() {
  $("report-head").replaceChildren(
    ...COLUMNS.map((c) => el("th", { scope: "col", "data-col": c, text: t("report_col_" + c) })),
  );
  $("report-rows").replaceChildren(
    ...state.rows.map((r) => el("tr", { "data-key": r.key }, ...COLUMNS.map((c) => cell(c, r[c])))),
  );
  $("report-empty").hidden = state.rows.length > 0;
  const names = { offered: t("report_col_offered"), answered: t("report_col_answered"), missed: t("report_col_missed") };
  $("chart").replaceChildren(
    ...(state.rows.length ? [barChart(state.rows, { label, names, title: t("report_chart") })] : []),
  );
  // How long callers waited for an answer, per row: half answered within p50, nine in ten within p90.
  const times = ["answer_p50_s", "answer_p90_s"];
  const timeNames = Object.fromEntries(times.map((s) => [s, t("report_col_" + s)]));
  const answered = state.rows.filter((r) => r.answered > 0);
  $("chart-times").replaceChildren(
    ...(answered.length
      ? [barChart(answered, { label, names: timeNames, title: t("report_chart_times"), series: times, format: (v) => count(Math.round(v * 10) / 10) })]
      : []),
  );
  $("rp-csv").href = query("csv");
  document.title = t("report_title");
}

async function show(event) {
  if (event) event.preventDefault();
  $("report-error").textContent = "";
  if (!$("rp-from").value || !$("rp-to").value) {
    $("report-error").textContent = t("report_need_dates");
    return;
  }
  try {
    const answer = await call("GET", query());
    state.rows = answer.rows || [];
    state.group = answer.group;
  } catch (failure) {
    state.rows = [];
    $("report-error").textContent = failure.status === 400 ? t("report_bad_period", { why: failure.message }) : t("report_failed");
  }
  render();
}

async function names() {
  try {
    const [people, purposes] = await Promise.all([call("GET", "/api/v1/employees"), call("GET", "/api/v1/purposes")]);
    for (const e of people.employees || []) state.employees.set(e.id, e.name);
    for (const p of purposes.purposes || []) state.purposes.set(p.code, p.name);
  } catch {
    // the keys are shown as they are
  }
}

async function main() {
  if (!(await startDeskPage(["console"], render))) return;
  const today = new Date();
  const weekAgo = new Date(today);
  weekAgo.setDate(today.getDate() - 6);
  $("rp-from").value = isoDay(weekAgo);
  $("rp-to").value = isoDay(today);
  $("report-form").addEventListener("submit", show);
  $("rp-group").addEventListener("change", () => show());
  await names();
  await show();
  document.body.dataset.ready = "1";
}

main();
