// Putting one's own call through to a colleague from the employee's page (the call rings or talks at
// one's own phone; the daemon refuses any other): a dialog listing the colleagues with their line and
// presence, blind. A colleague who said busy or away is asked for only after a second yes, with their note.
import { el } from "./dom.js";
import { t, has } from "./i18n.js";
import { call } from "./api.js";

const SAID = {
  line_offline: "put_through_offline",
  line_state_unknown: "put_through_offline",
  target_busy: "put_through_target_busy",
  target_in_call: "put_through_target_busy",
  call_gone: "put_through_gone",
  transfer_in_progress: "put_through_in_progress",
};

function callerName(pop) {
  const caller = pop.caller || {};
  return (pop.identified && pop.customer && pop.customer.name) || caller.name || caller.number || caller.raw || "?";
}

function option(e) {
  const line = e.line_status ? t("line_" + e.line_status) : "?";
  // A custom status (routing.custom_statuses) has no text in the catalogs: shown as it is named.
  const status = e.presence && e.presence.status;
  const presence = status && status !== "available" ? ` · ${has("presence_" + status) ? t("presence_" + status) : status}` : "";
  return el("option", { value: e.id, text: `${e.name} · ${e.extension} · ${line}${presence}` });
}

async function open(pop, ctx) {
  const old = document.getElementById("put-through-dialog");
  if (old) old.remove();
  let colleagues = [];
  try {
    const answer = await call("GET", "/api/v1/employees");
    colleagues = (answer.employees || []).filter((e) => e.extension && e.id !== ctx.me.employee_id);
  } catch {
    ctx.toast(t("put_through_failed", { why: t("error_server") }));
    return;
  }
  const error = el("p", { class: "field-error", role: "alert" });
  const to = el("select", { id: "pt-to", required: true }, ...colleagues.map(option));
  const send = el("button", { type: "submit", text: t("put_through_send") });
  let confirm = false;
  const form = el(
    "form",
    { class: "password-form", novalidate: true },
    el("label", { for: "pt-to", text: t("put_through_to") }),
    to,
    error,
    el(
      "div",
      { class: "actions" },
      send,
      el("button", { type: "button", class: "quiet", text: t("password_cancel"), onclick: () => dialog.close() }),
    ),
  );
  const dialog = el(
    "dialog",
    { id: "put-through-dialog", "aria-labelledby": "put-through-title" },
    el("h2", { id: "put-through-title", text: t("put_through_title", { name: callerName(pop) }) }),
    form,
  );
  to.addEventListener("change", () => {
    confirm = false; // another colleague: their presence is asked about again
    send.textContent = t("put_through_send");
    error.textContent = "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = colleagues.find((e) => e.id === to.value);
    if (!chosen) return;
    const body = { to_employee: chosen.id, ...(confirm ? { confirm: true } : {}) };
    try {
      await call("POST", `/api/v1/calls/${encodeURIComponent(pop.call_id)}/transfer`, body);
    } catch (failure) {
      if (failure.code === "presence_busy" && !confirm) {
        confirm = true;
        send.textContent = t("put_through_anyway");
        error.textContent = t("put_through_busy", { name: chosen.name, presence: failure.message });
      } else {
        const key = SAID[failure.code];
        error.textContent = key ? t(key, { name: chosen.name }) : t("put_through_failed", { why: failure.message });
      }
      to.focus();
      return;
    }
    dialog.close();
    ctx.toast(t("put_through_ringing", { name: chosen.name }));
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  to.focus();
}

export function putThroughButton(pop, ctx) {
  return el("button", {
    type: "button",
    class: "put-through quiet-dark",
    text: t("put_through"),
    "aria-label": t("put_through_title", { name: callerName(pop) }),
    onclick: () => open(pop, ctx),
  });
}
