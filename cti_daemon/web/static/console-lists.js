// The waiting queue (visitors registered as waiting: time waited, highlighted once a reminder fired;
// take, assign, mark missed) and the missed calls (the reason and the wait; call back from reception's
// phone, linked to the missed contact; mark handled).
import { el } from "./dom.js";
import { t, when, count } from "./i18n.js";
import { call } from "./api.js";
import { sayError } from "./contacts.js";
import { missedReason } from "./contact-words.js";

const $ = (id) => document.getElementById(id);

function who(desk, c) {
  const caller = c.caller || {};
  return (c.customer_id && desk.customers.get(c.customer_id)) || caller.name || caller.phone || t("unknown_caller");
}

function waitedMinutes(iso) {
  const since = Date.parse(iso);
  return Number.isNaN(since) ? 0 : Math.max(0, Math.floor((Date.now() - since) / 60000));
}

const OPEN = ["registered", "assigned", "postponed"];

export function renderQueue(desk) {
  const waiting = [...desk.contacts.values()]
    .filter((c) => c.queued_at && OPEN.includes(c.status) && !c.responsible_employee_id)
    .sort((a, b) => (a.queued_at < b.queued_at ? -1 : 1));
  $("queue").replaceChildren(...waiting.map((c) => queueItem(desk, c)));
  $("queue-empty").hidden = waiting.length > 0;
}

function queueItem(desk, c) {
  const reminded = desk.reminded.has(c.id);
  const assign = el(
    "select",
    { class: "assign-to", "aria-label": t("assign_to") },
    el("option", { value: "", text: t("assign_to") }),
    ...desk.employees
      .filter((e) => !c.purpose || (e.purposes || []).includes(c.purpose.code))
      .map((e) => el("option", { value: e.id, text: `${e.name} (${e.extension || "—"})` })),
  );
  const reason = el("input", { class: "missed-reason", maxlength: "200", "aria-label": t("missed_reason"), placeholder: t("missed_reason") });
  return el(
    "li",
    { class: "contact queued", "data-contact-id": c.id, "data-reminded": reminded ? "yes" : "no" },
    el(
      "div",
      { class: "contact-head" },
      el("h3", { text: who(desk, c) }),
      c.purpose ? el("span", { class: "badge", text: t("purpose_" + c.purpose.code) }) : null,
      el("span", { class: "waited", text: t("waited_min", { n: count(waitedMinutes(c.queued_at)) }) }),
      reminded ? el("strong", { class: "reminder-flag", text: t("reminder_fired") }) : null,
    ),
    c.description ? el("p", { text: c.description }) : null,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "take", text: t("take"), onclick: () => patch(desk, c, { responsible_employee_id: desk.me.employee_id, status: "in_progress" }) }),
      assign,
      el("button", { type: "button", class: "assign", text: t("assign"), onclick: () => assign.value && patch(desk, c, { responsible_employee_id: assign.value }) }),
      reason,
      el("button", { type: "button", class: "mark-missed", text: t("mark_missed"), onclick: () => missed(desk, c, reason.value) }),
    ),
  );
}

async function patch(desk, c, changes) {
  try {
    const saved = await call("PATCH", `/api/v1/contacts/${encodeURIComponent(c.id)}`, { ...changes, version: c.version });
    desk.contacts.set(saved.id, saved);
    desk.reminded.delete(c.id);
    desk.render();
    return saved;
  } catch (failure) {
    desk.toast(sayError(failure));
    return null;
  }
}

async function missed(desk, c, reason) {
  try {
    const saved = await call("POST", `/api/v1/contacts/${encodeURIComponent(c.id)}/missed`, { reason: reason.trim() || t("missed_default_reason") });
    desk.contacts.set(saved.id, saved);
    desk.render();
  } catch (failure) {
    desk.toast(sayError(failure));
  }
}

export function renderMissed(desk) {
  const list = [...desk.contacts.values()]
    .filter((c) => c.status === "missed")
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  $("missed").replaceChildren(...list.map((c) => missedItem(desk, c)));
  $("missed-empty").hidden = list.length > 0;
}

function missedItem(desk, c) {
  const caller = c.caller || {};
  const number = caller.e164 || caller.phone;
  return el(
    "li",
    { class: "contact missed", "data-contact-id": c.id },
    el(
      "div",
      { class: "contact-head" },
      el("h3", { text: who(desk, c) }),
      number ? el("span", { class: "number", text: number }) : null,
      el("span", { class: "contact-time", text: when(c.created_at) }),
    ),
    el("p", { class: "missed-why", text: missedReason(c) || t("missed_no_reason") }),
    el(
      "div",
      { class: "actions" },
      number
        ? el("button", { type: "button", class: "call-back", text: t("call_back_from_reception"), onclick: () => callBack(desk, c, number) })
        : null,
      el("button", { type: "button", class: "handled quiet-dark", text: t("mark_handled"), onclick: () => handled(desk, c) }),
    ),
  );
}

async function callBack(desk, c, number) {
  if (!desk.me.extension) {
    desk.toast(t("dial_no_extension"));
    return;
  }
  try {
    const answer = await call("POST", "/api/v1/calls/originate", { from_extension: desk.me.extension, to_number: number, contact_id: c.id });
    desk.toast(t("calling_back", { number, ext: desk.me.extension }));
    return answer;
  } catch (failure) {
    desk.toast(sayError(failure));
    return null;
  }
}

// A missed contact may only be given to someone (journal rules): to reception itself, then finalized.
async function handled(desk, c) {
  const mine = await patch(desk, c, { responsible_employee_id: desk.me.employee_id, status: "assigned" });
  if (!mine) return;
  try {
    const saved = await call("POST", `/api/v1/contacts/${encodeURIComponent(c.id)}/finalize`, {});
    desk.contacts.set(saved.id, saved);
    desk.render();
  } catch (failure) {
    desk.toast(sayError(failure));
  }
}
