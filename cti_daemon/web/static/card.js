// The screen pop as a card, as rich as the terminal client's (agent/card.py): caller, customer, cars with
// plate and VIN, open documents, CRM status, history, candidates, purpose, what reception wrote, the
// vehicle reception chose. Built from the MQTT popup payload; `update` replaces the identity part.
import { el, row } from "./dom.js";
import { t, when, day, count } from "./i18n.js";

export function renderCard(pop, { dial, putThrough }) {
  const caller = pop.caller || {};
  const customer = pop.identified ? pop.customer : null;
  const number = caller.number || caller.raw || "";
  const state = pop.closed ? "closed" : "ringing";
  const card = el("article", {
    class: "card",
    "data-call-id": pop.call_id,
    "data-state": state,
    "aria-labelledby": `card-title-${cssId(pop.call_id)}`,
  });
  const head = el(
    "header",
    { class: "card-head" },
    el("span", { class: "card-state", text: pop.closed ? closedText(pop.closed) : t("ringing") }),
    el("span", { class: "card-time", text: when(pop.at) }),
  );
  const title = customer
    ? el("h3", { id: `card-title-${cssId(pop.call_id)}`, class: "customer-name", text: customer.name })
    : el("h3", { id: `card-title-${cssId(pop.call_id)}`, class: "unknown", text: t("unknown_caller") });
  const numberLine = el(
    "p",
    { class: "caller" },
    el("span", { class: "number", text: number || t("no_number") }),
    caller.name ? el("span", { class: "pbx-name", text: t("pbx_name", { name: caller.name }) }) : null,
    caller.number && dial
      ? el("button", {
          type: "button",
          class: "dial",
          "data-number": caller.number,
          text: t("call_back"),
          "aria-label": t("call_number", { number: caller.number }),
          onclick: () => dial(caller.number),
        })
      : null,
    putThrough && !pop.closed ? putThrough(pop) : null,
  );
  card.append(head, title, numberLine);
  if (!customer && pop.reason) card.append(el("p", { class: "reason", text: reasonText(pop.reason) }));

  const facts = el("dl", { class: "facts" });
  if (customer) {
    const crm = customer.crm_status || {};
    const crmText = Object.entries(crm)
      .filter(([, v]) => v)
      .map(([k, v]) => `${t("crm_" + k)}: ${v}`)
      .join(" · ");
    if (crmText) facts.append(row(t("crm_status"), crmText));
    const chosen = pop.contact && pop.contact.vehicle_id;
    for (const car of customer.vehicles || []) {
      const picked = chosen && car.id === chosen;
      facts.append(
        row(
          picked ? t("vehicle_chosen") : t("car"),
          el("span", { class: "model", text: [car.model, car.year].filter(Boolean).join(" ") || "?" }),
          " ",
          el("span", { class: "plate", text: car.plate || "—" }),
          " ",
          el("span", { class: "vin", text: `VIN ${car.vin || "?"}` }),
        ),
      );
    }
    for (const doc of customer.open_documents || []) {
      facts.append(
        row(
          t("open_document"),
          `${t("doc_" + doc.kind)} ${doc.number} · ${doc.status || ""}`,
          doc.purpose ? ` · ${t("purpose_" + doc.purpose)}` : "",
        ),
      );
    }
    const history = pop.history || {};
    if (history.contacts_90d) {
      facts.append(
        row(t("history"), t("history_text", { n: count(history.contacts_90d), last: day(history.last_contact_at) })),
      );
    }
    const others = (pop.candidates || []).filter((c) => c.id !== customer.id);
    if (others.length) facts.append(row(t("same_number_also"), others.map((c) => c.name).join("; ")));
  }
  if (pop.purpose) {
    facts.append(row(t("purpose"), t("purpose_" + pop.purpose.code) + (pop.purpose.auto ? ` (${t("auto")})` : "")));
  }
  // The contact's id means nothing to a person: that the call is in the journal does.
  if (!pop.contact && pop.contact_id) facts.append(row(t("journal"), t("journal_contact")));
  if (pop.contact) {
    const by = pop.contact.written_by || pop.contact.registered_by || "?";
    facts.append(row(t("from_reception", { by }), pop.contact.description || "—"));
    for (const note of pop.contact.notes || []) {
      facts.append(row(t("note_by", { author: note.author }), note.text));
    }
  }
  if (facts.childElementCount) card.append(facts);
  return card;
}

// The daemon's reasons are English sentences; the known ones are said in the page's language.
function reasonText(reason) {
  if (reason === "number not in the customer store") return t("reason_not_in_store");
  if (reason.startsWith("customer store unavailable")) return t("reason_store_down");
  return reason;
}

function closedText(reason) {
  return t("closed_" + reason);
}

function cssId(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}
