// Putting the call through: blind, or attended with Complete and Cancel that follow the transfer's status
// (ringback, answered, completed, abandoned, failed with the reason). A refusal (offline, busy, unknown
// state...) is said as a sentence naming the employee; the call stays where it was.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { call } from "./api.js";

const $ = (id) => document.getElementById(id);
const FINISHED = ["completed", "abandoned", "failed"];
const FOLLOW_MS = 400;
let desk = null;
let current = null; // {transfer, who, error: the last refusal (ApiFailure)}
let following = null;

export function setup(d) {
  desk = d;
  $("confirm-no").addEventListener("click", () => $("confirm-dialog").close("no"));
  $("confirm-yes").addEventListener("click", () => $("confirm-dialog").close("yes"));
}

// The confirmation dialog (a real <dialog>: focus is kept inside, Esc answers no).
export function ask(text) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  $("confirm-no").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}

function employeeName(id) {
  const e = desk.employees.find((x) => x.id === id);
  return e ? { name: e.name, ext: e.extension || "?" } : { name: id, ext: "?" };
}

export async function start(d, callId, employeeId, mode, _confirmFirst, confirm = false) {
  desk = d;
  const who = employeeName(employeeId);
  const out = { to_employee: employeeId, mode: mode === "attended" ? "attended" : "blind" };
  if (confirm) out.confirm = true;
  current = { transfer: { status: "starting", mode: out.mode, call_id: callId }, who, error: null };
  render();
  try {
    const answer = await call("POST", `/api/v1/calls/${encodeURIComponent(callId)}/transfer`, out);
    current.transfer = answer;
  } catch (failure) {
    if (failure.code === "presence_busy" && !confirm) {
      current = null;
      render();
      if (await ask(t("confirm_busy", { name: who.name, presence: failure.message }))) {
        return start(d, callId, employeeId, mode, false, true);
      }
      return null;
    }
    current.transfer = { ...current.transfer, status: "refused" };
    current.error = failure; // said in words at each render: a language switch says it again
    render();
    return null;
  }
  render();
  follow();
  return current.transfer;
}

// Whether the call is being put through now (the form keeps it while its card is gone meanwhile).
export function busyWith(callId) {
  return !!current && current.transfer.call_id === callId && !FINISHED.includes(current.transfer.status) && current.transfer.status !== "refused";
}

// A transfer the daemon started itself (the registration's `transfer: true`): followed the same way.
export function show(d, callId, employeeId, answer) {
  desk = d;
  const who = employeeName(employeeId);
  current = { transfer: { status: "starting", mode: "blind", call_id: callId }, who, error: null };
  if (answer && answer.error) {
    current.transfer.status = "refused";
    current.error = { code: answer.error.code, message: answer.error.message };
  } else if (answer) current.transfer = { ...current.transfer, ...answer };
  render();
  follow();
}

// The daemon's codes said as sentences; the call stays where it was for every refusal.
function refusal(failure, who) {
  const key = "refused_" + failure.code;
  const text = t(key, { name: who.name, ext: who.ext });
  return text === key ? t("refused_other", { name: who.name, reason: failure.message }) : text;
}

function follow() {
  clearTimeout(following);
  if (!current || !current.transfer.id || FINISHED.includes(current.transfer.status)) return;
  following = setTimeout(async () => {
    await refresh();
    follow();
  }, FOLLOW_MS);
}

async function refresh() {
  if (!current || !current.transfer.id) return;
  try {
    const before = current.transfer.status;
    current.transfer = await call("GET", `/api/v1/transfers/${encodeURIComponent(current.transfer.id)}`);
    if (before !== "completed" && current.transfer.status === "completed") desk.transferDone(current.transfer.call_id);
  } catch {
    return; // asked again on the next tick
  }
  render();
}

// A call event of the transfer's call (answered at the target, ended...) asks at once, not at the tick.
export function onCallEvent(ev) {
  if (current && current.transfer.id && current.transfer.call_id === ev.call_id) refresh();
}

async function act(what) {
  const id = current.transfer.id;
  try {
    current.transfer = await call("POST", `/api/v1/transfers/${encodeURIComponent(id)}/${what}`);
    current.error = null;
    if (current.transfer.status === "completed") desk.transferDone(current.transfer.call_id);
  } catch (failure) {
    current.error = failure;
  }
  render();
  follow();
}

function statusText(tr) {
  if (tr.status === "failed" || tr.status === "abandoned") {
    return t("transfer_" + tr.status, { reason: tr.reason || t("no_reason") });
  }
  return t("transfer_" + tr.status);
}

export function render() {
  const box = $("transfer-box");
  if (!current) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const tr = current.transfer;
  const attended = tr.mode === "attended";
  const live = !FINISHED.includes(tr.status) && tr.status !== "refused";
  box.hidden = false;
  box.dataset.status = tr.status;
  const parts = [
    el("h3", { text: t(attended ? "transfer_attended_to" : "transfer_blind_to", { name: current.who.name, ext: current.who.ext }) }),
    desk.callers.get(tr.call_id) ? el("p", { class: "transfer-caller", text: t("transfer_caller", { name: desk.callers.get(tr.call_id) }) }) : null,
    tr.status === "refused"
      ? null
      : el("p", { class: "transfer-status", "data-status": tr.status, text: statusText(tr) }),
    current.error
      ? el("p", { class: "error transfer-error", role: "alert", text: refusal(current.error, current.who) })
      : null,
    el(
      "div",
      { class: "actions" },
      attended && live
        ? el("button", {
            type: "button",
            class: "complete",
            disabled: tr.status !== "answered",
            text: t("transfer_complete"),
            onclick: () => act("complete"),
          })
        : null,
      attended && live
        ? el("button", { type: "button", class: "cancel quiet-dark", text: t("transfer_cancel"), onclick: () => act("cancel") })
        : null,
      live
        ? null
        : el("button", {
            type: "button",
            class: "quiet-dark",
            text: t("close"),
            onclick: () => {
              current = null;
              render();
            },
          }),
    ),
  ];
  box.replaceChildren(...parts.filter(Boolean)); // replaceChildren would write "null" for a missing part
}
