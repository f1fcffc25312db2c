// The journal: the list with filters (status, purpose, employee, dates, customer, call id), and a
// contact's page (a dialog) with its history, notes and the lifecycle actions the journal allows.
import { el, row } from "./dom.js";
import { t, when } from "./i18n.js";
import { call } from "./api.js";
import { sayError } from "./contacts.js";
import { missedReason, historyKind, actorName } from "./contact-words.js";

const $ = (id) => document.getElementById(id);
const STATUSES = ["open", "registered", "assigned", "in_progress", "postponed", "finalized", "missed"];
let desk = null;
let listed = [];
let shown = null; // the contact on the page

export function setup(d) {
  desk = d;
  fillFilters();
  $("journal-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  $("contact-close").addEventListener("click", () => $("contact-dialog").close());
  load();
}

function fillFilters() {
  const keep = (id, options) => {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: t("any") }), ...options);
    select.value = chosen;
  };
  keep("jf-status", STATUSES.map((s) => el("option", { value: s, text: t("status_" + s) })));
  keep("jf-purpose", desk.purposes.map((p) => el("option", { value: p.code, text: t("purpose_" + p.code) })));
  keep("jf-employee", desk.employees.map((e) => el("option", { value: e.id, text: e.name })));
}

async function load() {
  const q = new URLSearchParams({ limit: "50" });
  const add = (name, id) => $(id).value.trim() && q.set(name, $(id).value.trim());
  add("status", "jf-status");
  add("purpose", "jf-purpose");
  add("employee", "jf-employee");
  add("call_id", "jf-call");
  if ($("jf-from").value) q.set("from", new Date($("jf-from").value + "T00:00:00").toISOString());
  if ($("jf-to").value) q.set("to", new Date($("jf-to").value + "T23:59:59").toISOString());
  $("journal-error").textContent = "";
  try {
    const customer = $("jf-customer").value.trim();
    if (customer) {
      // The customer as in the form's search (name part, phone, VIN, plate, = and %): the best match.
      const found = (await call("GET", `/api/v1/customers?q=${encodeURIComponent(customer)}&limit=1`)).customers || [];
      if (!found.length) {
        $("journal-error").textContent = t("no_customer_found");
        listed = [];
        render();
        return;
      }
      desk.customers.set(found[0].id, found[0].name);
      q.set("customer", found[0].id);
    }
    listed = (await call("GET", `/api/v1/contacts?${q}`)).contacts || [];
  } catch (failure) {
    $("journal-error").textContent = sayError(failure);
    return;
  }
  render();
}

function who(c) {
  return (c.customer_id && desk.customers.get(c.customer_id)) || (c.caller && (c.caller.name || c.caller.phone)) || t("unknown_caller");
}

function employeeName(id) {
  const e = desk.employees.find((x) => x.id === id);
  return e ? e.name : id || "—";
}

function render() {
  fillFilters();
  const rows = listed.map((c) =>
      el(
        "tr",
        { "data-contact-id": c.id },
        el("td", {}, el("button", { type: "button", class: "link", text: when(c.created_at), onclick: () => open(c.id) })),
        el("td", { text: t("type_" + c.type) }),
        el("td", {}, el("span", { class: "badge", "data-status": c.status, text: t("status_" + c.status) })),
        el("td", { text: c.purpose ? t("purpose_" + c.purpose.code) : "—" }),
        el("td", { text: who(c) }),
        el("td", { text: employeeName(c.responsible_employee_id) }),
      ),
    );
  $("journal-rows").replaceChildren(...rows);
}

export function onContact(contact) {
  const i = listed.findIndex((c) => c.id === contact.id);
  if (i >= 0) {
    listed[i] = contact;
    render();
  }
  if (shown && shown.id === contact.id && contact.version >= shown.version) {
    shown = contact;
    renderContact();
  }
}

async function open(id) {
  try {
    shown = await call("GET", `/api/v1/contacts/${encodeURIComponent(id)}`);
  } catch (failure) {
    desk.toast(sayError(failure));
    return;
  }
  renderContact();
  $("contact-dialog").showModal();
}

function renderContact() {
  const c = shown;
  const facts = el(
    "dl",
    { class: "facts" },
    row(t("status"), el("span", { class: "badge", "data-status": c.status, text: t("status_" + c.status) })),
    row(t("customer"), who(c)),
    row(t("purpose"), c.purpose ? `${t("purpose_" + c.purpose.code)}${c.purpose.sub ? " / " + c.purpose.sub : ""}` : "—"),
    row(t("responsible"), employeeName(c.responsible_employee_id)),
    row(t("description"), c.description || "—"),
    c.call_id ? row(t("call_id"), c.call_id) : null,
    c.missed_reason ? row(t("missed_calls"), missedReason(c)) : null,
  );
  const notes = el("ul", { class: "notes" }, ...(c.notes || []).map((n) => el("li", {}, el("span", { class: "note-meta", text: `${n.author} · ${when(n.at)}` }), n.text)));
  const history = el("ol", { class: "history" }, ...(c.history || []).map((h) => el("li", { text: `${when(h.at)} · ${actorName(h.actor)} · ${historyKind(h.kind)}` })));
  const noteInput = el("input", { maxlength: "2000", "aria-label": t("add_note") });
  const actions = el(
    "div",
    { class: "actions" },
    noteInput,
    el("button", { type: "button", text: t("add_note"), onclick: () => act("notes", { text: noteInput.value.trim() }) }),
    ["registered", "assigned", "in_progress", "postponed"].includes(c.status)
      ? el("button", { type: "button", class: "finalize", text: t("finalize"), onclick: () => act("finalize", {}) })
      : null,
    ["registered", "assigned", "postponed"].includes(c.status)
      ? el("button", { type: "button", class: "quiet-dark", text: t("mark_missed"), onclick: () => act("missed", { reason: t("missed_default_reason") }) })
      : null,
  );
  $("contact-body").replaceChildren(facts, el("h3", { text: t("notes") }), notes, actions, el("h3", { text: t("history") }), history);
}

async function act(what, payload) {
  try {
    await call("POST", `/api/v1/contacts/${encodeURIComponent(shown.id)}/${what}`, payload);
    shown = await call("GET", `/api/v1/contacts/${encodeURIComponent(shown.id)}`);
    renderContact();
    load();
  } catch (failure) {
    desk.toast(sayError(failure));
  }
}
