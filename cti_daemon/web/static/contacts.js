// My contacts: assigned or postponed to me, or waiting in my purposes' group; newest first; the actions
// the journal allows for each status (the server decides; a 409 is said as a sentence naming what is).
import { el, row } from "./dom.js";
import { t, when } from "./i18n.js";
import { call } from "./api.js";

const OPEN = ["registered", "assigned", "in_progress", "postponed"];
const CAN = {
  registered: ["in_progress", "postponed", "finalized"],
  assigned: ["in_progress", "postponed", "finalized"],
  in_progress: ["postponed", "finalized"],
  postponed: ["in_progress", "postponed", "finalized"],
};

export function isOpen(contact) {
  return OPEN.includes(contact.status);
}

export function sortNewestFirst(list) {
  return list.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)) || b.id.localeCompare(a.id));
}

// Each contact keeps its element while its version is the same, so what one types in another contact's
// note is not lost when a change arrives; a changed contact is rebuilt (focus kept by element id).
const built = new Map(); // id -> {key, node}

export function renderContacts(list, ctx, { force = false } = {}) {
  const ul = document.getElementById("contacts");
  const open = new Set([...ul.querySelectorAll("details[open]")].map((d) => d.dataset.key));
  const focused = document.activeElement && ul.contains(document.activeElement) ? document.activeElement.id : null;
  const nodes = list.map((c) => {
    const key = `${c.version}|${c.status}|${(c.notes || []).length}|${ctx.customerName(c.customer_id) || ""}`;
    const seen = built.get(c.id);
    if (seen && seen.key === key && !force) return seen.node;
    const node = renderOne(c, ctx, open);
    built.set(c.id, { key, node });
    return node;
  });
  for (const id of [...built.keys()]) if (!list.some((c) => c.id === id)) built.delete(id);
  ul.replaceChildren(...nodes);
  document.getElementById("contacts-empty").hidden = list.length > 0;
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

export function sayError(failure) {
  if (failure.code === "transition_not_allowed" && Array.isArray(failure.allowed)) {
    const allowed = failure.allowed.map((s) => t("status_" + s)).join(", ");
    return allowed ? t("error_transition", { allowed }) : t("error_closed");
  }
  if (failure.code === "changed_meanwhile") return t("error_changed");
  if (failure.status === 403) return t("error_forbidden");
  if (failure.status === 401) return t("error_signed_out");
  if (failure.status >= 500) return t("error_server");
  return failure.message || t("error_server");
}

function renderOne(c, ctx, open) {
  const id = c.id;
  const caller = c.caller || {};
  const who = (c.customer_id && ctx.customerName(c.customer_id)) || caller.name || caller.phone || t("unknown_caller");
  const message = el("p", { class: "error", role: "alert", id: `err-${id}` });
  async function act(method, path, body, done) {
    message.textContent = "";
    try {
      const answer = await call(method, path, body);
      if (answer && answer.id) ctx.upsert(answer);
      if (done) done();
      ctx.toast(t("saved"));
    } catch (failure) {
      message.textContent = sayError(failure);
    }
  }
  const base = `/api/v1/contacts/${encodeURIComponent(id)}`;
  const can = CAN[c.status] || [];
  const mine = c.responsible_employee_id === ctx.me.employee_id;
  const buttons = el("div", { class: "actions" });
  if (can.includes("in_progress") && c.status !== "in_progress") {
    const body = mine ? { status: "in_progress" } : { status: "in_progress", responsible_employee_id: ctx.me.employee_id };
    buttons.append(
      el("button", { type: "button", id: `take-${id}`, class: "take", text: mine ? t("start_work") : t("take_it"), onclick: () => act("PATCH", base, body) }),
    );
  }
  if (can.includes("finalized")) {
    buttons.append(
      el("button", { type: "button", id: `fin-${id}`, class: "finalize", text: t("finalize"), onclick: () => act("POST", base + "/finalize") }),
    );
  }
  const phone = caller.e164 || caller.phone;
  if (phone && ctx.dial) {
    buttons.append(
      el("button", { type: "button", id: `dial-${id}`, class: "dial", text: t("call_back"), "aria-label": t("call_number", { number: phone }), onclick: () => ctx.dial(phone, id) }),
    );
  }

  const noteText = el("textarea", { id: `note-${id}`, rows: "2", maxlength: "4000" });
  const noteForm = el(
    "form",
    { class: "note-form", onsubmit: (e) => { e.preventDefault(); if (noteText.value.trim()) act("POST", base + "/notes", { text: noteText.value.trim() }, () => { noteText.value = ""; }); } },
    el("label", { for: `note-${id}`, text: t("add_note") }),
    noteText,
    el("button", { type: "submit", id: `note-save-${id}`, text: t("add_note_button") }),
  );

  const until = el("input", { id: `until-${id}`, type: "datetime-local", required: true });
  const reason = el("input", { id: `reason-${id}`, maxlength: "1000", required: true });
  const to = el("select", { id: `to-${id}` }, el("option", { value: "", text: t("postpone_to_me") }), ...ctx.people().filter((p) => p.id !== ctx.me.employee_id).map((p) => el("option", { value: p.id, text: p.name || p.id })));
  const postpone = can.includes("postponed")
    ? el(
        "details",
        { class: "postpone", "data-key": `postpone-${id}`, open: open.has(`postpone-${id}`) },
        el("summary", { text: t("postpone") }),
        el(
          "form",
          {
            onsubmit: (e) => {
              e.preventDefault();
              if (!until.value || !reason.value.trim()) { message.textContent = t("postpone_needs"); return; }
              const body = { until: new Date(until.value).toISOString(), reason: reason.value.trim() };
              if (to.value) body.to_employee = to.value;
              act("POST", base + "/postpone", body);
            },
          },
          el("label", { for: `until-${id}`, text: t("postpone_until") }), until,
          el("label", { for: `reason-${id}`, text: t("postpone_reason") }), reason,
          el("label", { for: `to-${id}`, text: t("postpone_to") }), to,
          el("button", { type: "submit", id: `postpone-save-${id}`, text: t("postpone_button") }),
        ),
      )
    : null;

  const facts = el("dl", { class: "facts" });
  if (c.purpose) facts.append(row(t("purpose"), t("purpose_" + c.purpose.code) + (c.purpose.sub ? ` · ${c.purpose.sub}` : "")));
  if (!c.responsible_employee_id && c.purpose_group) facts.append(row(t("group"), t("purpose_" + c.purpose_group)));
  if (c.description) facts.append(row(t("description"), c.description));
  if (c.postponed) facts.append(row(t("postponed_until"), `${when(c.postponed.until)} · ${c.postponed.reason || ""}`));
  const notes = el("ul", { class: "notes" }, ...(c.notes || []).map((n) => el("li", {}, el("span", { class: "note-meta", text: `${n.author} · ${when(n.at)}` }), el("span", { class: "note-text", text: n.text }))));

  return el(
    "li",
    { class: "contact", "data-contact-id": id, "data-status": c.status },
    el(
      "header",
      { class: "contact-head" },
      el("h3", { text: who }),
      el("span", { class: "badge", "data-status": c.status, text: t("status_" + c.status) }),
      el("span", { class: "contact-time", text: when(c.created_at) }),
    ),
    el(
      "div",
      { class: "contact-body" },
      el(
        "div",
        {},
        phone ? el("p", { class: "caller" }, el("span", { class: "number", text: phone })) : null,
        facts.childElementCount ? facts : null,
        notes.childElementCount ? notes : null,
      ),
      el("div", {}, buttons, noteForm, postpone, message),
    ),
  );
}
