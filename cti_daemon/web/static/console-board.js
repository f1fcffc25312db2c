// The lines board: every employee with extension, line status (colour and words), presence and note,
// signed in or not, open and handled contacts, the caller's name beside a line that talks; filter by
// purpose. Drawn as one tbody, rebuilt from the desk's state (200 rows stay well under a frame's budget).
import { el } from "./dom.js";
import { t, count } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let filterReady = false;

export function lineOf(desk, employee) {
  const line = employee.extension ? desk.lines.get(employee.extension) : null;
  return line ? line.status : employee.line_status || "unknown";
}

export function presenceOf(desk, employee) {
  return desk.presence.get(employee.id) || null;
}

export function statusName(status) {
  const key = "presence_" + status;
  const text = t(key);
  return text === key ? status : text;
}

export function presenceText(desk, employee) {
  const seen = presenceOf(desk, employee) || employee.presence;
  if (!seen || !seen.status) return t("presence_none");
  return statusName(seen.status) + (seen.note ? ` — ${seen.note}` : "");
}

// Signed in: the agent client's own word (presence.client), else what GET /employees said.
export function signedIn(desk, employee) {
  const seen = presenceOf(desk, employee);
  if (seen && seen.client) return seen.client === "online";
  return employee.logged_in === true;
}

function setupFilter(desk) {
  const select = $("board-purpose");
  if (!filterReady) {
    select.addEventListener("change", () => renderBoard(desk));
    filterReady = true;
  }
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "", text: t("all_purposes") }),
    ...desk.purposes.map((p) => el("option", { value: p.code, text: t("purpose_" + p.code) })),
  );
  select.value = chosen;
}

export function renderBoard(desk) {
  setupFilter(desk);
  const purpose = $("board-purpose").value;
  const rows = desk.employees
    .filter((e) => !purpose || (e.purposes || []).includes(purpose))
    .map((e) => boardRow(desk, e));
  $("board-rows").replaceChildren(...rows);
}

function boardRow(desk, e) {
  const status = lineOf(desk, e);
  const line = e.extension ? desk.lines.get(e.extension) : null;
  const caller = status === "talking" || status === "ringing" ? line && desk.callers.get(line.call_id) : null;
  const seen = presenceOf(desk, e) || e.presence;
  const online = signedIn(desk, e);
  const pick = () => {
    desk.selectedEmployee = e.id;
    for (const r of document.querySelectorAll("#board-rows tr")) r.removeAttribute("aria-selected");
    row.setAttribute("aria-selected", "true");
    const select = $("reg-employee");
    if ([...select.options].some((o) => o.value === e.id)) select.value = e.id;
  };
  const row = el(
    "tr",
    {
      "data-employee": e.id,
      "data-extension": e.extension || "",
      "aria-selected": desk.selectedEmployee === e.id ? "true" : null,
    },
    el("td", {}, el("button", { type: "button", class: "link", text: e.name, onclick: pick })),
    el("td", { class: "ext", text: e.extension || "—" }),
    el(
      "td",
      { class: "line" },
      el("span", { class: "badge", "data-status": status, text: t("line_" + status) }),
      caller ? el("span", { class: "line-caller", text: caller }) : null,
    ),
    el(
      "td",
      { class: "presence-cell" },
      el("span", { class: "dot", "data-online": online ? "yes" : "no", text: online ? t("signed_in") : t("signed_out") }),
      " ",
      el("span", { class: "presence-text", "data-presence": (seen && seen.status) || "none", text: presenceText(desk, e) }),
    ),
    el("td", { class: "counts", text: `${count(e.open_contacts || 0)} / ${count(e.handled_contacts || 0)}` }),
  );
  return row;
}
