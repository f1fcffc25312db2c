// The employee's page: sign-in, then the live stream drives everything on it.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { call } from "./api.js";
import { connect } from "./stream.js";
import { renderCard } from "./card.js";
import { renderContacts, isOpen, sortNewestFirst, sayError } from "./contacts.js";
import { el } from "./dom.js";
import { beep } from "./sound.js";
import { openPasswordDialog } from "./password.js";
import { putThroughButton } from "./put-through.js";
import * as followups from "./followups.js";

const $ = (id) => document.getElementById(id);
const CLOSED_CARD_MS = 8000;

const state = {
  me: null, // {login, employee_id, name, role, extension}
  pops: new Map(), // call_id -> popup payload (closed: the reason)
  contacts: new Map(),
  presence: new Map(),
  lines: new Map(),
  statuses: ["available", "busy", "away"],
  people: [],
  customers: new Map(), // customer id -> name
  stream: null,
  seat: { purposes: [], sees_all: false }, // from the snapshot: what makes a contact mine
};

// Contacts carry a customer id; the stream tells the names (the snapshot's customer_names, then a
// customer_names envelope before a contact of a customer not named yet).
function customerName(id) {
  return (id && state.customers.get(id)) || null;
}

async function main() {
  await i18n.start();
  $("lang").value = i18n.current();
  $("lang").addEventListener("change", (e) => i18n.use(e.target.value));
  i18n.onChange(() => {
    $("lang").value = i18n.current();
    renderAll(true);
  });
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("password-open").addEventListener("click", openPasswordDialog);
  $("presence-form").addEventListener("submit", savePresence);
  $("notify-ask").addEventListener("click", askNotifications);
  let me = null;
  try {
    me = await call("GET", "/api/v1/session");
  } catch {
    me = null;
  }
  if (me) enter(me);
  else showSignIn();
}

function showSignIn() {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("password-open").hidden = true;
  $("my-line").hidden = true;
  $("notify-ask").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  $("login").focus();
}

async function signIn(event) {
  event.preventDefault();
  const error = $("sign-in-error");
  error.textContent = "";
  const login = $("login").value.trim();
  const password = $("password").value;
  if (!login || !password) {
    error.textContent = t("sign_in_needs");
    return;
  }
  try {
    const me = await call("POST", "/api/v1/session", { login, password });
    $("password").value = "";
    enter(me);
  } catch (failure) {
    if (failure.status === 429) error.textContent = t("sign_in_limited", { s: failure.retryAfter || "60" });
    else if (failure.status === 401 || failure.status === 400) error.textContent = t("sign_in_wrong");
    else error.textContent = t("error_server");
    $("password").focus();
  }
}

async function signOut() {
  try {
    await call("DELETE", "/api/v1/session");
  } catch {
    // signed out already: the page shows the form either way
  }
  if (state.stream) state.stream.close();
  state.stream = null;
  state.me = null;
  state.pops.clear();
  state.contacts.clear();
  $("pops").replaceChildren();
  showSignIn();
}

function enter(me) {
  if (me.role === "reception" || me.role === "admin") {
    location.reload(); // the daemon serves the reception console at / to these roles
    return;
  }
  state.me = me;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("password-open").hidden = false;
  $("who").textContent = me.name ? `${me.name} (${me.login})` : me.login;
  if ("Notification" in window && Notification.permission === "default" && !localStorage.getItem("cti.notify-asked")) {
    $("notify-ask").hidden = false;
  }
  loadPresenceChoices();
  loadPeople();
  followups.setup({ dial, toast, customerName });
  state.stream = connect({
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
        showSignIn();
        return true;
      }
    },
  });
  $("main").focus();
}

async function loadPresenceChoices() {
  try {
    const answer = await call("GET", "/api/v1/presence");
    state.statuses = answer.statuses;
    for (const p of answer.presence) state.presence.set(p.employee_id, p);
  } catch {
    // the built-in statuses stay
  }
  renderPresence();
}

async function loadPeople() {
  try {
    const answer = await call("GET", "/api/v1/employees");
    state.people = (answer.employees || []).map((e) => ({ id: e.id || e.employee_id, name: e.name }));
  } catch {
    state.people = [];
  }
}

function snapshot(snap) {
  state.seat = snap.me || state.seat;
  state.pops.clear();
  for (const pop of snap.pops || []) state.pops.set(pop.call_id, pop);
  state.contacts.clear();
  for (const c of snap.contacts || []) state.contacts.set(c.id, c);
  for (const p of snap.presence || []) state.presence.set(p.employee_id, p);
  state.lines.clear();
  for (const line of snap.lines || []) state.lines.set(line.extension, line);
  for (const [id, name] of Object.entries(snap.customer_names || {})) state.customers.set(id, name);
  renderAll(true);
  followups.load(); // each (re)connect: what came due while the page was away
}

function envelope(topic, payload) {
  if (topic === "customer_names") {
    for (const [id, name] of Object.entries(payload.customers || {})) state.customers.set(id, name);
    return;
  }
  const parts = topic.split("/");
  const kind = parts[1];
  if (kind === "agents" && parts[3] === "popup") popEvent(payload);
  else if (kind === "agents" && parts[3] === "notify") notifyEvent(payload);
  else if (kind === "lines") {
    state.lines.set(payload.extension, payload);
    renderLine();
  } else if (kind === "presence") {
    state.presence.set(payload.employee_id, payload);
    renderPresence();
  } else if (kind === "traffic") upsert(payload);
}

function popEvent(pop) {
  if (pop.type === "popup") {
    state.pops.set(pop.call_id, pop);
    renderPops();
    if (document.hidden) alertInBackground(pop); // after the card is drawn: the chime must not delay it
    return;
  } else if (pop.type === "update") {
    const known = state.pops.get(pop.call_id);
    if (!known) return;
    const purpose = known.contact && known.contact.purpose ? known.purpose : pop.purpose; // reception's wins
    state.pops.set(pop.call_id, { ...known, ...pop, type: "popup", at: known.at, purpose });
  } else if (pop.type === "dismiss") {
    const known = state.pops.get(pop.call_id);
    if (!known) return;
    known.closed = pop.reason;
    setTimeout(() => {
      if (state.pops.get(pop.call_id) === known) {
        state.pops.delete(pop.call_id);
        renderPops();
      }
    }, CLOSED_CARD_MS);
  }
  renderPops();
}

function notifyEvent(note) {
  toast(note.text || t("notify_" + note.kind));
  followups.onNotify(note);
}

function upsert(contact) {
  const known = state.contacts.get(contact.id);
  if (known && !contact.gone && contact.version < known.version) return; // an older change, come late
  if (contact.gone || !isOpen(contact) || !mine(contact)) state.contacts.delete(contact.id);
  else state.contacts.set(contact.id, contact);
  renderContactsNow();
}

// The stream's own rule (stream/audience.py), applied again to what an action's answer brings back.
function mine(contact) {
  if (state.seat.sees_all) return true;
  const me = state.me.employee_id;
  if (contact.responsible_employee_id === me || (contact.postponed && contact.postponed.to === me)) return true;
  return !contact.responsible_employee_id && (state.seat.purposes || []).includes(contact.purpose_group);
}

function renderAll(force = false) {
  renderPops(force);
  renderContactsNow(force);
  followups.render();
  renderPresence();
  renderLine();
  const link = $("link-state");
  link.textContent = t("link_" + link.dataset.state);
}

// A card is drawn again only when its pop changed (an update, a dismissal, the language): a ring among
// cards still showing why they closed costs one card, not all of them.
const drawn = new Map(); // call_id -> {pop, closed, lang, node}

function renderPops(force = false) {
  const cards = [...state.pops.values()].reverse().map((pop) => {
    const seen = drawn.get(pop.call_id);
    if (!force && seen && seen.pop === pop && seen.closed === pop.closed && seen.lang === i18n.current()) {
      return seen.node;
    }
    const node = renderCard(pop, { dial, putThrough: (p) => putThroughButton(p, { me: state.me, toast }) });
    drawn.set(pop.call_id, { pop, closed: pop.closed, lang: i18n.current(), node });
    return node;
  });
  for (const id of [...drawn.keys()]) if (!state.pops.has(id)) drawn.delete(id);
  const box = $("pops");
  if (cards.length !== box.children.length || cards.some((node, i) => box.children[i] !== node)) {
    box.replaceChildren(...cards);
  }
  $("pops-empty").hidden = cards.length > 0;
}

function renderContactsNow(force = false) {
  if (!state.me) return;
  const list = sortNewestFirst([...state.contacts.values()]);
  const ctx = { me: state.me, upsert, toast, dial, customerName, people: () => state.people };
  renderContacts(list, ctx, { force });
}

function renderLine() {
  if (!state.me || !state.me.extension) return;
  const line = state.lines.get(state.me.extension);
  const status = line ? line.status : "unknown";
  $("my-line").hidden = false;
  $("my-extension").textContent = state.me.extension;
  $("line-status").dataset.status = status;
  $("line-status").textContent = t("line_" + status);
}

function renderPresence() {
  if (!state.me) return;
  const mine = state.presence.get(state.me.employee_id);
  const select = $("presence-status");
  const chosen = select.value || (mine && mine.status) || "available";
  select.replaceChildren(...state.statuses.map((s) => el("option", { value: s, text: statusName(s) })));
  select.value = state.statuses.includes(chosen) ? chosen : state.statuses[0];
  if (mine && document.activeElement !== $("presence-note") && !$("presence-note").dataset.dirty) {
    $("presence-note").value = mine.note || "";
    select.value = mine.status;
  }
  $("presence-seen").textContent = mine
    ? `${statusName(mine.status)}${mine.note ? " — " + mine.note : ""} · ${i18n.when(mine.since)}`
    : t("presence_none");
}

function statusName(s) {
  return i18n.has("presence_" + s) ? t("presence_" + s) : s;
}

async function savePresence(event) {
  event.preventDefault();
  $("presence-error").textContent = "";
  const body = { status: $("presence-status").value, note: $("presence-note").value.trim() || null };
  try {
    const saved = await call("PUT", `/api/v1/presence/${encodeURIComponent(state.me.employee_id)}`, body);
    state.presence.set(saved.employee_id, saved);
    delete $("presence-note").dataset.dirty;
    renderPresence();
    toast(t("saved"));
  } catch (failure) {
    $("presence-error").textContent = sayError(failure);
  }
}

async function dial(number, contactId) {
  if (!state.me || !state.me.extension) {
    toast(t("dial_no_extension"));
    return;
  }
  const body = { from_extension: state.me.extension, to_number: number };
  if (contactId) body.contact_id = contactId;
  try {
    await call("POST", "/api/v1/calls/originate", body);
    toast(t("dialling", { number }));
  } catch (failure) {
    if (contactId && failure.field === "contact_id") return dial(number); // a daemon without contact_id
    toast(sayError(failure));
  }
}

function alertInBackground(pop) {
  beep();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const who = pop.identified && pop.customer ? pop.customer.name : t("unknown_caller");
  const number = (pop.caller && (pop.caller.number || pop.caller.raw)) || "";
  const note = new Notification(t("notification_title", { who }), { body: number, tag: pop.call_id });
  note.addEventListener("click", () => {
    window.focus();
    note.close();
  });
}

async function askNotifications() {
  localStorage.setItem("cti.notify-asked", "1");
  $("notify-ask").hidden = true;
  try {
    await Notification.requestPermission();
  } catch {
    // refused or unsupported: the sound still plays
  }
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.dataset.shown = "1";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    delete box.dataset.shown;
  }, 4000);
}

document.addEventListener("input", (e) => {
  if (e.target && e.target.id === "presence-note") e.target.dataset.dirty = "1";
});

main();
