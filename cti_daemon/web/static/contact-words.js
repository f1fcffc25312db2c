// What the daemon stores in English or as codes, said in the reader's language: why a call was missed
// (the PBX's reason has a code and its figures in the contact's history) and the history's kinds.
import { t, has } from "./i18n.js";

export function missedReason(c) {
  const said = [...(c.history || [])].reverse().find((h) => h.kind === "missed");
  const data = (said && said.data) || {};
  // Reception may have written its own reason since: that is shown as written.
  if (data.code && data.reason === c.missed_reason && has("missed_code_" + data.code)) {
    return t("missed_code_" + data.code, {
      waited_s: data.waited_s ?? "?",
      queue: data.queue ?? "",
      extensions: (data.extensions || []).join(", "),
    });
  }
  return c.missed_reason;
}

export function historyKind(kind) {
  return has("history_" + kind) ? t("history_" + kind) : kind;
}

// Who did it: a person's login as it is; the daemon's own actors (the PBX, the system) by name.
export function actorName(actor) {
  return has("actor_" + actor) ? t("actor_" + actor) : actor;
}
