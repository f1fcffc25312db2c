// Changing one's own password from either page: a dialog asking the current password and the new one
// twice. The daemon ends every other session of the person; this page stays signed in.
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { call } from "./api.js";

const MIN_LENGTH = 10; // as the daemon's passwords.MIN_PASSWORD_LENGTH

function field(id, key, autocomplete) {
  const input = el("input", { id, type: "password", autocomplete, required: true, maxlength: "1024" });
  return [el("label", { for: id, text: t(key) }), input];
}

function say(node, key, vars) {
  node.textContent = t(key, vars);
}

export function openPasswordDialog() {
  const old = document.getElementById("password-dialog");
  if (old) old.remove();
  const error = el("p", { class: "field-error", role: "alert" });
  const form = el(
    "form",
    { class: "password-form", novalidate: true },
    ...field("pw-current", "password_current", "current-password"),
    ...field("pw-new", "password_new", "new-password"),
    ...field("pw-repeat", "password_repeat", "new-password"),
    el("p", { class: "muted", text: t("password_rules", { n: MIN_LENGTH }) }),
    error,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", text: t("password_change") }),
      el("button", { type: "button", class: "quiet", text: t("password_cancel"), onclick: () => dialog.close() }),
    ),
  );
  const dialog = el(
    "dialog",
    { id: "password-dialog", "aria-labelledby": "password-title" },
    el("h2", { id: "password-title", text: t("password_title") }),
    form,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const current = form.querySelector("#pw-current").value;
    const fresh = form.querySelector("#pw-new").value;
    if (fresh !== form.querySelector("#pw-repeat").value) {
      say(error, "password_mismatch");
      form.querySelector("#pw-repeat").focus();
      return;
    }
    if (fresh.length < MIN_LENGTH) {
      say(error, "password_rules", { n: MIN_LENGTH });
      form.querySelector("#pw-new").focus();
      return;
    }
    try {
      await call("POST", "/api/v1/session/password", { current, new: fresh });
    } catch (failure) {
      if (failure.code === "wrong_password") say(error, "password_wrong_current");
      else if (failure.code === "password_refused") say(error, "password_rules", { n: MIN_LENGTH });
      else if (failure.status === 429) say(error, "sign_in_limited", { s: failure.retryAfter || "60" });
      else say(error, "error_server");
      form.querySelector(failure.field === "new" ? "#pw-new" : "#pw-current").focus();
      return;
    }
    form.replaceChildren(
      el("p", { role: "status", text: t("password_changed") }),
      el("button", { type: "button", text: t("password_close"), onclick: () => dialog.close() }),
    );
    form.querySelector("button").focus();
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  form.querySelector("#pw-current").focus();
}
