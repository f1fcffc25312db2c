// The reception console: the live stream drives the board, the incoming calls, the queue and the missed
// calls; the register form, transfers and the journal act through the API. Shares the employee page's
// modules (i18n, stream, card, dom, api); the console's own texts are in console-en.json/console-ru.json.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { call } from "./api.js";
import { connect } from "./stream.js";
import { renderBoard } from "./console-board.js";
import { renderCalls } from "./console-calls.js";
import * as register from "./console-register.js";
import * as transfer from "./console-transfer.js";
import { renderQueue, renderMissed } from "./console-lists.js";
import * as journal from "./console-journal.js";
import { openPasswordDialog } from "./password.js";

export const $ = (id) => document.getElementById(id);

// One state for the whole console; the feature modules read it and call back into `desk`.
export const desk = {
  me: null,
  lines: new Map(), // extension -> line payload
  presence: new Map(), // employee id -> presence payload
  pops: new Map(), // call id -> my pop (reception's), kept while the call lasts
  callers: new Map(), // call id -> the caller's name (customer's, else the PBX's)
  calls: new Map(), // call id -> {call_id, at, ended}
  contacts: new Map(), // contact id -> contact (open ones and missed ones)
  customers: new Map(), // customer id -> name
  employees: [], // GET /api/v1/employees
  purposes: [], // GET /api/v1/purposes
  reminded: new Set(), // contact ids a queue_reminder fired for
  selectedCall: null,
  selectedEmployee: null,
  render,
  toast,
  refreshEmployees,
  loadMissed,
  transferDone: (callId) => register.done(desk, callId),
};

async function main() {
  await i18n.start(["console"]);
  $("lang").value = i18n.current();
  $("lang").addEventListener("change", (e) => i18n.use(e.target.value));
  i18n.onChange(() => {
    $("lang").value = i18n.current();
    render();
  });
  $("sign-out").addEventListener("click", signOut);
  $("password-open").addEventListener("click", openPasswordDialog);
  try {
    desk.me = await call("GET", "/api/v1/session");
  } catch {
    location.assign("/"); // signed out meanwhile: the sign-in form
    return;
  }
  $("who").textContent = desk.me.name ? `${desk.me.name} (${desk.me.login})` : desk.me.login;
  $("accounts-link").hidden = desk.me.role !== "admin"; // a convenience: the daemon refuses the others
  // The stream is opened at once, beside the lists it is drawn with: whichever comes last draws the desk.
  const lists = Promise.all([loadPurposes(), refreshEmployees(), loadMissed()]);
  connect({
    onSnapshot: snapshot,
    onEnvelope: envelope,
    onState: (s) => {
      $("link-state").dataset.state = s;
      $("link-state").textContent = t("link_" + s);
    },
    onRefused: async () => {
      try {
        await call("GET", "/api/v1/session");
        return false;
      } catch {
        location.assign("/");
        return true;
      }
    },
  });
  await lists;
  register.setup(desk);
  transfer.setup(desk);
  journal.setup(desk);
  keyboard();
  ready = true;
  render();
  setInterval(() => renderQueue(desk), 15000); // the time waited moves on
}

async function signOut() {
  try {
    await call("DELETE", "/api/v1/session");
  } catch {
    // ended already
  }
  location.assign("/");
}

async function loadPurposes() {
  try {
    desk.purposes = (await call("GET", "/api/v1/purposes")).purposes || [];
  } catch {
    desk.purposes = [];
  }
}

let employeesTimer = null;
// The open/handled counts change with every contact: asked again at most once a second.
async function refreshEmployees(soon = false) {
  if (soon) {
    clearTimeout(employeesTimer);
    employeesTimer = setTimeout(() => refreshEmployees(), 1000);
    return;
  }
  try {
    desk.employees = (await call("GET", "/api/v1/employees")).employees || [];
  } catch {
    return;
  }
  renderBoard(desk);
  register.renderEmployees(desk);
}

async function loadMissed() {
  try {
    const answer = await call("GET", "/api/v1/contacts?status=missed&limit=50");
    for (const c of answer.contacts || []) desk.contacts.set(c.id, c);
  } catch {
    // the list stays as the stream fills it
  }
  renderMissed(desk);
}

function snapshot(snap) {
  desk.lines.clear();
  for (const line of snap.lines || []) desk.lines.set(line.extension, line);
  for (const p of snap.presence || []) desk.presence.set(p.employee_id, p);
  for (const [id, name] of Object.entries(snap.customer_names || {})) desk.customers.set(id, name);
  for (const c of snap.contacts || []) desk.contacts.set(c.id, c);
  desk.calls.clear();
  for (const c of snap.calls || []) {
    desk.calls.set(c.call_id, { call_id: c.call_id });
    const name = (c.customer && c.customer.name) || (c.caller && c.caller.name);
    if (name) desk.callers.set(c.call_id, name);
  }
  desk.pops.clear();
  // Only pops of calls still in progress: the answering agent's pop gets no dismiss when the call ends.
  for (const pop of snap.pops || []) if (desk.calls.has(pop.call_id)) notePop(pop);
  render();
}

function notePop(pop) {
  const name = pop.identified && pop.customer ? pop.customer.name : pop.caller && pop.caller.name;
  if (name) desk.callers.set(pop.call_id, name);
  if (pop.employee_id === desk.me.employee_id) desk.pops.set(pop.call_id, pop);
}

function envelope(topic, payload) {
  if (topic === "customer_names") {
    for (const [id, name] of Object.entries(payload.customers || {})) desk.customers.set(id, name);
    return;
  }
  const parts = topic.split("/");
  const kind = parts[1];
  if (kind === "lines") {
    desk.lines.set(payload.extension, payload);
    renderBoard(desk);
    renderCalls(desk);
    register.renderEmployees(desk);
  } else if (kind === "presence") {
    desk.presence.set(payload.employee_id, payload);
    renderBoard(desk);
    register.renderEmployees(desk);
  } else if (kind === "agents" && parts[3] === "popup") popEvent(parts[2], payload);
  else if (kind === "agents" && parts[3] === "notify") notifyEvent(parts[2], payload);
  else if (kind === "calls") callEvent(payload);
  else if (kind === "traffic") trafficEvent(payload);
}

function popEvent(employeeId, pop) {
  const mine = employeeId === desk.me.employee_id;
  if (pop.type === "popup") notePop({ ...pop, employee_id: employeeId });
  else if (pop.type === "update" && desk.pops.has(pop.call_id) && mine) {
    const known = desk.pops.get(pop.call_id);
    notePop({ ...known, ...pop, type: "popup", at: known.at });
  } else if (pop.type === "dismiss" && mine && pop.reason !== "answered") {
    desk.pops.delete(pop.call_id); // answered elsewhere, transferred, ended: no longer at reception
  }
  if (mine) renderCalls(desk);
  renderBoard(desk);
}

function notifyEvent(employeeId, note) {
  if (employeeId !== desk.me.employee_id) return;
  if (note.kind === "queue_reminder" && note.contact_id) {
    desk.reminded.add(note.contact_id);
    renderQueue(desk);
  }
  toast(note.text || t("notify_" + note.kind));
}

function callEvent(ev) {
  if (ev.from_name && !desk.callers.has(ev.call_id)) desk.callers.set(ev.call_id, ev.from_name);
  if (ev.event === "ended") {
    desk.calls.delete(ev.call_id);
    desk.pops.delete(ev.call_id);
    renderCalls(desk);
  } else desk.calls.set(ev.call_id, { call_id: ev.call_id });
  transfer.onCallEvent(ev);
}

function trafficEvent(contact) {
  if (contact.gone) return;
  const known = desk.contacts.get(contact.id);
  if (known && contact.version < known.version) return; // an older change, come late
  desk.contacts.set(contact.id, contact);
  renderQueue(desk);
  renderMissed(desk);
  refreshEmployees(true);
  journal.onContact(contact);
}

let ready = false; // the form and the journal are set up once the lists are in

function render() {
  if (!ready) {
    renderBoard(desk);
    renderCalls(desk);
    return;
  }
  renderBoard(desk);
  renderCalls(desk);
  renderQueue(desk);
  renderMissed(desk);
  register.renderAll(desk);
  transfer.render();
  const link = $("link-state");
  link.textContent = t("link_" + link.dataset.state);
  document.title = t("console_title"); // i18n.apply names the employee page's title
}

// Keys: "/" focuses the customer search, "t" transfers to the employee picked in the form, Esc closes.
function keyboard() {
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
    if (e.key === "Escape") {
      register.closeResults();
      for (const d of document.querySelectorAll("dialog[open]")) d.close();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      e.preventDefault();
      $("reg-search").focus();
    } else if (e.key === "t" || e.key === "T") {
      e.preventDefault();
      register.transferOnly();
    }
  });
}

let toastTimer = null;
export function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.dataset.shown = "1";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => delete box.dataset.shown, 5000);
}



main();
