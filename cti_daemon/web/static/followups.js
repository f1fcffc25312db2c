// My follow-ups: the calls I am to make (given to me or to one of my purposes' groups), open ones only,
// soonest due first; those due now are highlighted, and a `followup_due` notify from the stream
// highlights (or adds) its follow-up at once. Call dials from my phone; each outcome is an attempt.
import { el } from "./dom.js";
import { t, when } from "./i18n.js";
import { call } from "./api.js";

const OUTCOMES = ["reached", "no_answer", "busy", "wrong_number", "declined", "call_back_later"];
const list = new Map(); // id -> follow-up (open ones)
const announced = new Set(); // ids a followup_due notify came for while this page was open
let ctx = null;

let ticking = null;
export function setup(context) {
  ctx = context;
  // A follow-up becomes due with the clock, not only with a notify: the highlight is redrawn each minute.
  ticking = ticking || setInterval(render, 60000);
}

export async function load() {
  try {
    const answer = await call("GET", "/api/v1/followups?status=open");
    list.clear();
    for (const f of answer.followups || []) list.set(f.id, f);
  } catch {
    // the list stays as it was; a notify still brings its follow-up
  }
  render();
}

export async function onNotify(note) {
  if (note.kind !== "followup_due" || !note.followup_id) return;
  announced.add(note.followup_id);
  try {
    const found = await call("GET", `/api/v1/followups/${encodeURIComponent(note.followup_id)}`);
    if (found.status === "open") list.set(found.id, found);
  } catch {
    // not readable (given to someone else meanwhile): nothing to show
  }
  render();
}

function isDue(f) {
  return announced.has(f.id) || new Date(f.due_at).getTime() <= Date.now();
}

export function render() {
  const ul = document.getElementById("followups");
  if (!ul || !ctx) return;
  const open = [...list.values()]
    .filter((f) => f.status === "open")
    .sort((a, b) => String(a.due_at).localeCompare(String(b.due_at)) || a.id.localeCompare(b.id));
  const focused = document.activeElement && ul.contains(document.activeElement) ? document.activeElement.id : null;
  const keep = new Map([...ul.children].map((li) => [li.dataset.followupId, li]));
  ul.replaceChildren(
    ...open.map((f) => {
      const seen = keep.get(f.id);
      const key = `${f.updated_at}|${f.attempts}|${isDue(f)}|${document.documentElement.lang}`;
      // One being filled in (a call-back-later time typed) is kept as it is while nothing changed.
      return seen && seen.dataset.key === key ? seen : renderOne(f, key);
    }),
  );
  document.getElementById("followups-empty").hidden = open.length > 0;
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function sentence(failure) {
  if (failure.status === 409) return t("followup_error_closed");
  if (failure.field === "next_due_at") return t("followup_error_next_due");
  if (failure.status === 403) return t("error_forbidden");
  if (failure.status === 404) return t("followup_error_gone");
  if (failure.status === 401) return t("error_signed_out");
  if (failure.status >= 500) return t("error_server");
  return failure.message || t("error_server");
}

function renderOne(f, key) {
  const id = f.id;
  const message = el("p", { class: "error", role: "alert", id: `fu-err-${id}` });
  const nextDue = el("input", { id: `fu-next-${id}`, type: "datetime-local" });
  const note = el("input", { id: `fu-note-${id}`, maxlength: "4000" });

  async function attempt(outcome) {
    message.textContent = "";
    const body = { outcome };
    if (note.value.trim()) body.note = note.value.trim();
    if (outcome === "call_back_later") {
      if (!nextDue.value) {
        message.textContent = t("followup_needs_next_due");
        nextDue.focus();
        return;
      }
      body.next_due_at = new Date(nextDue.value).toISOString();
    }
    try {
      const after = await call("POST", `/api/v1/followups/${encodeURIComponent(id)}/attempts`, body);
      announced.delete(id);
      if (after.status === "open") list.set(id, after);
      else list.delete(id);
      ctx.toast(t("followup_recorded", { outcome: t("outcome_" + outcome) }));
      render();
    } catch (failure) {
      message.textContent = sentence(failure);
      if (failure.status === 409) {
        list.delete(id); // closed meanwhile: it leaves the open list once read again
        setTimeout(load, 3000);
      }
    }
  }

  const who = (f.customer_id && ctx.customerName(f.customer_id)) || f.phone;
  const due = isDue(f);
  const outcomes = el(
    "div",
    { class: "actions outcomes", role: "group", "aria-label": t("followup_outcome") },
    ...OUTCOMES.filter((o) => o !== "call_back_later").map((o) =>
      el("button", { type: "button", id: `fu-${o}-${id}`, class: `outcome quiet`, "data-outcome": o, text: t("outcome_" + o), onclick: () => attempt(o) }),
    ),
  );
  const later = el(
    "div",
    { class: "later" },
    el("label", { for: `fu-next-${id}`, text: t("followup_next_due") }),
    nextDue,
    el("button", { type: "button", id: `fu-call_back_later-${id}`, class: "outcome quiet", "data-outcome": "call_back_later", text: t("outcome_call_back_later"), onclick: () => attempt("call_back_later") }),
  );
  return el(
    "li",
    { class: "contact followup", "data-followup-id": id, "data-due": due ? "yes" : "no", "data-key": key },
    el(
      "header",
      { class: "contact-head" },
      el("h3", { text: who }),
      due ? el("span", { class: "badge due-badge", text: t("followup_is_due") }) : null,
      el("span", { class: "contact-time", text: `${t("followup_due_at")} ${when(f.due_at)}` }),
    ),
    el("p", { class: "reason", text: f.reason }),
    el(
      "p",
      { class: "caller" },
      who === f.phone ? null : el("span", { class: "number", text: f.phone }),
      " ",
      el("button", { type: "button", id: `fu-dial-${id}`, class: "dial", text: t("followup_call"), "aria-label": t("call_number", { number: f.phone }), onclick: () => ctx.dial(f.phone) }),
      f.attempts ? el("span", { class: "attempts", text: t("followup_attempts", { n: f.attempts }) }) : null,
    ),
    el("label", { for: `fu-note-${id}`, text: t("followup_note") }),
    note,
    outcomes,
    later,
    message,
  );
}
