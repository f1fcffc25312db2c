// Seed 003's registration form: type, purpose and second level, the customer by search-as-you-type (or
// the unknown caller's name, phone and note), the car among the customer's, the responsible employee
// among the purpose's (with line and presence; busy or away with a note asks first) or the purpose group,
// the description. Save; Save and transfer; Transfer alone (no identification needed: seed 003's rule).
// The journal's refusals are shown next to the field they name.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { call } from "./api.js";
import { sayError } from "./contacts.js";
import { lineOf, presenceOf, presenceText } from "./console-board.js";
import * as transfer from "./console-transfer.js";

const $ = (id) => document.getElementById(id);
const form = { customer: null, callId: null, contactId: null, number: null };
let desk = null;
let searchTimer = null;
let searchSeq = 0;

export function setup(d) {
  desk = d;
  $("reg-purpose").addEventListener("change", () => {
    renderSubs();
    renderEmployees(desk);
  });
  $("reg-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 150);
  });
  $("reg-search").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      $("reg-results").querySelector("button")?.focus();
    }
  });
  $("register").addEventListener("submit", (e) => {
    e.preventDefault();
    save(false);
  });
  $("reg-save-transfer").addEventListener("click", () => save(true));
  $("reg-transfer").addEventListener("click", transferOnly);
  $("reg-clear").addEventListener("click", () => clear(true));
  $("reg-employee").addEventListener("change", () => (desk.selectedEmployee = $("reg-employee").value || null));
  renderAll(desk);
}

export function renderAll(d) {
  const purpose = $("reg-purpose");
  const chosen = purpose.value;
  purpose.replaceChildren(
    el("option", { value: "", text: t("choose_purpose") }),
    ...d.purposes.map((p) => el("option", { value: p.code, text: t("purpose_" + p.code) })),
  );
  purpose.value = chosen;
  renderSubs();
  renderEmployees(d);
  renderCustomer();
  renderForCall();
}

function purposeOf(code) {
  return desk.purposes.find((p) => p.code === code) || null;
}

function renderSubs() {
  const sub = $("reg-sub");
  const chosen = sub.value;
  const purpose = purposeOf($("reg-purpose").value);
  sub.replaceChildren(
    el("option", { value: "", text: t("choose_sub") }),
    ...(purpose ? purpose.subs : []).map((s) => el("option", { value: s.code, text: s.name })),
  );
  sub.value = [...sub.options].some((o) => o.value === chosen) ? chosen : "";
}

// The responsible employee: those of the chosen purpose (everyone without one), each with line and presence.
export function renderEmployees(d) {
  if (!desk) return;
  const select = $("reg-employee");
  const chosen = select.value || d.selectedEmployee || "";
  const purpose = purposeOf($("reg-purpose").value);
  const people = d.employees.filter((e) => e.id !== d.me.employee_id && (!purpose || purpose.employees.includes(e.id)));
  select.replaceChildren(
    el("option", { value: "", text: purpose ? t("purpose_group_option") : t("choose_employee") }),
    ...people.map((e) =>
      el("option", {
        value: e.id,
        text: `${e.name} · ${e.extension || "—"} · ${t("line_" + lineOf(d, e))} · ${presenceText(d, e)}`,
      }),
    ),
  );
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// --- the call the form is about --------------------------------------------------------------------
export function useCall(d, pop) {
  clear(false);
  form.callId = pop.call_id;
  form.contactId = pop.contact_id || null;
  form.number = (pop.caller && (pop.caller.number || pop.caller.raw)) || null;
  d.selectedCall = pop.call_id;
  setType("call");
  if (pop.purpose && pop.purpose.code) {
    $("reg-purpose").value = pop.purpose.code;
    renderSubs();
    renderEmployees(d);
  }
  const contact = form.contactId ? d.contacts.get(form.contactId) : null;
  const customerId = (contact && contact.customer_id) || (pop.identified && pop.customer && pop.customer.id);
  if (customerId) chooseCustomer(d, customerId);
  else $("reg-caller-phone").value = form.number || "";
  renderForCall();
  d.render();
}

export function forgetCall(d) {
  d.selectedCall = null;
  form.callId = null;
  form.contactId = null;
  renderForCall();
}

function renderForCall() {
  const line = $("reg-for-call");
  line.textContent = form.callId ? t("registering_call", { number: form.number || "?" }) : t("registering_new");
}

function setType(type) {
  for (const input of document.querySelectorAll("#register input[name=type]")) input.checked = input.value === type;
}

function typeValue() {
  return document.querySelector("#register input[name=type]:checked")?.value || "call";
}

// --- the customer ---------------------------------------------------------------------------------
async function search() {
  const q = $("reg-search").value.trim();
  const list = $("reg-results");
  if (q.length < 2) {
    closeResults();
    return;
  }
  const seq = ++searchSeq;
  let found = [];
  try {
    found = (await call("GET", `/api/v1/customers?q=${encodeURIComponent(q)}&limit=8`)).customers || [];
  } catch (failure) {
    if (seq === searchSeq) showError("customer_id", sayError(failure));
    return;
  }
  if (seq !== searchSeq) return; // a later keystroke's answer wins
  list.replaceChildren(
    ...(found.length
      ? found.map((c) =>
          el(
            "li",
            { role: "option" },
            el("button", {
              type: "button",
              class: "result",
              "data-customer": c.id,
              text: `${c.name} · ${(c.phones || []).join(", ")} · ${(c.vehicles || []).map((v) => v.plate).join(", ")}`,
              onclick: () => {
                chooseCustomer(desk, c.id);
                closeResults();
              },
            }),
          ),
        )
      : [el("li", { class: "empty", text: t("no_customer_found") })]),
  );
  list.hidden = false;
  $("reg-search").setAttribute("aria-expanded", "true");
}

export function closeResults() {
  $("reg-results").hidden = true;
  $("reg-search").setAttribute("aria-expanded", "false");
}

export async function chooseCustomer(d, id) {
  try {
    form.customer = await call("GET", `/api/v1/customers/${encodeURIComponent(id)}`);
  } catch (failure) {
    showError("customer_id", sayError(failure));
    return;
  }
  d.customers.set(form.customer.id, form.customer.name);
  renderCustomer();
}

function renderCustomer() {
  const box = $("reg-customer");
  const vehicle = $("reg-vehicle");
  const chosenCar = vehicle.value;
  const c = form.customer;
  box.hidden = !c;
  $("reg-unknown").hidden = !!c;
  vehicle.replaceChildren(
    el("option", { value: "", text: c ? t("no_vehicle") : t("choose_customer_first") }),
    ...(c ? c.vehicles || [] : []).map((v) =>
      el("option", { value: v.id, text: `${v.model || "?"} ${v.plate || ""} · VIN ${v.vin || "?"}` }),
    ),
  );
  vehicle.value = [...vehicle.options].some((o) => o.value === chosenCar) ? chosenCar : "";
  if (!c) return;
  const crm = Object.entries(c.crm_status || {})
    .filter(([, v]) => v)
    .map(([k, v]) => `${t("crm_" + k)}: ${v}`)
    .join(" · ");
  const docs = (c.open_documents || []).map((doc) => `${t("doc_" + doc.kind)} ${doc.number}`).join(", ");
  const parts = [
    el("strong", { class: "chosen-name", text: c.name }),
    crm ? el("span", { class: "muted", text: crm }) : null,
    docs ? el("span", { class: "muted", text: `${t("open_document")}: ${docs}` }) : null,
    el("button", { type: "button", class: "quiet", text: t("change_customer"), onclick: () => clearCustomer() }),
  ];
  box.replaceChildren(...parts.filter(Boolean));
}

function clearCustomer() {
  form.customer = null;
  renderCustomer();
  $("reg-search").focus();
}

function clear(all) {
  form.customer = null;
  $("register").reset();
  closeResults();
  clearErrors();
  if (all) forgetCall(desk);
  renderAll(desk);
}

// --- saving ---------------------------------------------------------------------------------------
function body(transferFlag) {
  const type = typeValue();
  const out = { type, description: $("reg-description").value.trim() || null };
  const purpose = $("reg-purpose").value;
  if (purpose) out.purpose = purpose;
  if ($("reg-sub").value) out.sub_purpose = $("reg-sub").value;
  if (form.customer) {
    out.customer_id = form.customer.id;
    if ($("reg-vehicle").value) out.vehicle_id = $("reg-vehicle").value;
  } else {
    const caller = {
      name: $("reg-caller-name").value.trim() || null,
      phone: $("reg-caller-phone").value.trim() || null,
      note: $("reg-caller-note").value.trim() || null,
    };
    if (caller.name || caller.phone || caller.note) out.caller = caller;
  }
  const employee = $("reg-employee").value;
  if (employee) out.responsible_employee_id = employee;
  if (form.callId && type === "call") out.call_id = form.callId;
  if (type === "visit" && $("reg-queued").checked) out.queued = true;
  if (transferFlag) out.transfer = true;
  return out;
}

// Seed 003: a busy or away presence with a note ("no new customers") asks before giving them the contact.
async function confirmedFor(employeeId) {
  const e = desk.employees.find((x) => x.id === employeeId);
  const seen = e && (presenceOf(desk, e) || e.presence);
  if (!seen || !["busy", "away"].includes(seen.status) || !seen.note) return true;
  return transfer.ask(t("confirm_busy", { name: e.name, presence: presenceText(desk, e) }));
}

async function save(thenTransfer) {
  clearErrors();
  const out = body(false);
  if (out.responsible_employee_id && !(await confirmedFor(out.responsible_employee_id))) return;
  if (thenTransfer && !out.responsible_employee_id) {
    showError("responsible_employee_id", t("transfer_needs_employee"));
    return;
  }
  if (thenTransfer && !form.callId) {
    showError("transfer", t("transfer_needs_call"));
    return;
  }
  let saved;
  try {
    saved = await call("POST", "/api/v1/contacts", out);
  } catch (failure) {
    showFailure(failure);
    return;
  }
  desk.contacts.set(saved.id, saved);
  form.contactId = saved.id;
  desk.toast(saved.spooled ? t("saved_spooled") : t("registered"));
  if (thenTransfer) await transfer.start(desk, form.callId, out.responsible_employee_id, $("reg-mode").value, true);
  else if (!form.callId) clear(true);
}

// The call was put through: the form is done with it (it stays as it was after a refusal).
export function done(d, callId) {
  if (form.callId === callId || form.callId === null) clear(true);
}

export async function transferOnly() {
  clearErrors();
  const employee = $("reg-employee").value || desk.selectedEmployee;
  if (!employee) {
    showError("responsible_employee_id", t("transfer_needs_employee"));
    $("reg-employee").focus();
    return;
  }
  const callId = form.callId || firstCall();
  if (!callId) {
    showError("transfer", t("transfer_needs_call"));
    return;
  }
  if (!(await confirmedFor(employee))) return;
  if ($("reg-mode").value === "attended") {
    await transfer.start(desk, callId, employee, "attended", true);
    return;
  }
  // Seed 003's Transfer: what the form says is kept (no identification needed), and the daemon puts the
  // call through in the same request (`transfer: true`); its answer carries the transfer or its refusal.
  const out = { ...body(true), type: "call", call_id: callId, responsible_employee_id: employee };
  let saved;
  try {
    saved = await call("POST", "/api/v1/contacts", out);
  } catch (failure) {
    if (failure.status === 400) showFailure(failure);
    else $("reg-error").textContent = sayError(failure);
    return;
  }
  desk.contacts.set(saved.id, saved);
  transfer.show(desk, callId, employee, saved.transfer);
}

function firstCall() {
  const line = desk.me.extension ? desk.lines.get(desk.me.extension) : null;
  return line && line.status === "talking" ? line.call_id : null;
}

function clearErrors() {
  for (const p of document.querySelectorAll("#register [data-error-for]")) p.textContent = "";
  $("reg-error").textContent = "";
}

function showError(field, text) {
  const name = field === "caller_phone" || field === "caller_name" ? "caller" : field;
  const box = document.querySelector(`#register [data-error-for="${name}"]`);
  if (box) box.textContent = text;
  else $("reg-error").textContent = text;
}

export function showFailure(failure) {
  const problems = failure.problems && failure.problems.length ? failure.problems : null;
  if (problems) for (const p of problems) showError(p.field, ruleText(p.field, p.message));
  else if (failure.field) showError(failure.field, ruleText(failure.field, sayError(failure)));
  else $("reg-error").textContent = sayError(failure);
}

function ruleText(field, message) {
  if (field === "customer_id" && /identif|customer/.test(message)) return t("rule_identify");
  return message;
}
