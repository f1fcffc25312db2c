// Incoming calls at reception: the employee page's card for each call ringing or talking here, which
// call the form registers, and for a shared number every candidate with a button to pick one (PATCH of
// the contact's customer_id: the journal's record is what the next ring from that number prefers).
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { call } from "./api.js";
import { renderCard } from "./card.js";
import { sayError } from "./contacts.js";
import * as register from "./console-register.js";
import * as transfer from "./console-transfer.js";

const $ = (id) => document.getElementById(id);
const drawn = new Map(); // call id -> {key, node}

function stateOf(desk, pop) {
  const line = desk.me.extension ? desk.lines.get(desk.me.extension) : null;
  return line && line.call_id === pop.call_id && line.status === "talking" ? "talking" : "ringing";
}

export function renderCalls(desk) {
  const pops = [...desk.pops.values()].reverse();
  const nodes = pops.map((pop) => {
    const state = stateOf(desk, pop);
    const contact = pop.contact_id ? desk.contacts.get(pop.contact_id) : null;
    const chosen = contact ? contact.customer_id : null;
    const key = JSON.stringify([state, chosen, desk.selectedCall === pop.call_id, pop.customer && pop.customer.id, document.documentElement.lang]);
    const seen = drawn.get(pop.call_id);
    if (seen && seen.key === key && seen.pop === pop) return seen.node;
    const node = callBox(desk, pop, state, chosen);
    drawn.set(pop.call_id, { key, pop, node });
    return node;
  });
  for (const id of [...drawn.keys()]) if (!desk.pops.has(id)) drawn.delete(id);
  $("calls").replaceChildren(...nodes);
  $("calls-empty").hidden = nodes.length > 0;
  const gone = desk.selectedCall && !desk.pops.has(desk.selectedCall);
  if (gone && !transfer.busyWith(desk.selectedCall)) register.forgetCall(desk);
}

function callBox(desk, pop, state, chosen) {
  const card = renderCard(pop, { dial: null });
  card.dataset.state = state === "talking" ? "talking" : "ringing";
  card.querySelector(".card-state").textContent = t(state === "talking" ? "call_talking" : "ringing");
  const selected = desk.selectedCall === pop.call_id;
  card.classList.toggle("selected", selected);
  const candidates = pop.candidates || [];
  if (candidates.length > 1) card.append(candidatePicker(desk, pop, candidates, chosen));
  card.append(
    el(
      "div",
      { class: "actions" },
      el("button", {
        type: "button",
        class: "register-call",
        "aria-pressed": selected ? "true" : "false",
        text: selected ? t("registering_this") : t("register_this"),
        onclick: () => register.useCall(desk, pop),
      }),
    ),
  );
  return card;
}

function candidatePicker(desk, pop, candidates, chosen) {
  const box = el("fieldset", { class: "candidates" }, el("legend", { text: t("shared_number_pick") }));
  for (const c of candidates) {
    const picked = chosen ? chosen === c.id : pop.customer && pop.customer.id === c.id;
    box.append(
      el(
        "div",
        { class: "candidate", "data-customer": c.id, "data-picked": picked ? "yes" : "no" },
        el("span", { class: "candidate-name", text: c.name }),
        el("button", {
          type: "button",
          class: "pick",
          disabled: picked && !!chosen,
          text: picked && chosen ? t("picked") : t("pick_this"),
          onclick: () => pick(desk, pop, c),
        }),
      ),
    );
  }
  return box;
}

async function pick(desk, pop, candidate) {
  if (!pop.contact_id) {
    desk.toast(t("no_contact_yet"));
    return;
  }
  try {
    const saved = await call("PATCH", `/api/v1/contacts/${encodeURIComponent(pop.contact_id)}`, {
      customer_id: candidate.id,
    });
    desk.contacts.set(saved.id, saved);
    desk.customers.set(candidate.id, candidate.name);
    desk.callers.set(pop.call_id, candidate.name);
    desk.toast(t("picked_customer", { name: candidate.name }));
    if (desk.selectedCall === pop.call_id) register.chooseCustomer(desk, candidate.id);
    renderCalls(desk);
  } catch (failure) {
    desk.toast(sayError(failure));
  }
}
