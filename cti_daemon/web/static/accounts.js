// The accounts page (admin only; the daemon refuses everyone else, page and API): each person's role,
// whether they may sign in, and a new password for someone who forgot theirs. Every change ends that
// person's sessions; the sentence under the heading says what happened, in the reader's language.
import { t } from "./i18n.js";
import { call } from "./api.js";
import { startDeskPage } from "./desk-page.js";
import { el } from "./dom.js";

const $ = (id) => document.getElementById(id);
const ROLES = ["employee", "reception", "admin"];
const MIN_LENGTH = 10; // as the daemon's passwords.MIN_PASSWORD_LENGTH
const state = { accounts: [], said: null, error: null, newcomers: [], newError: null };

function nameOf(a) {
  return a.name || a.login;
}

function say(key, vars) {
  state.said = { key, vars };
  state.error = null;
  sayNow();
}

function fail(failure, a) {
  const vars = { name: nameOf(a), why: failure.message || failure.code || String(failure.status) };
  const known = { own_account: "accounts_refused_own_account", not_found: "accounts_refused_not_found" };
  state.error = { key: known[failure.code] || "accounts_failed", vars };
  state.said = null;
  sayNow();
}

// Said again at each language switch: the stored key, not a rendered sentence.
function sayNow() {
  $("accounts-said").textContent = state.said ? t(state.said.key, roleWords(state.said.vars)) : "";
  $("accounts-error").textContent = state.error ? t(state.error.key, state.error.vars) : "";
}

function roleWords(vars) {
  return vars && vars.role ? { ...vars, role: t("role_" + vars.role) } : vars;
}

function replace(changed) {
  state.accounts = state.accounts.map((a) => (a.login === changed.login ? changed : a));
  render();
}

async function change(a, body) {
  let changed;
  try {
    changed = await call("PATCH", `/api/v1/accounts/${encodeURIComponent(a.login)}`, body);
  } catch (failure) {
    fail(failure, a);
    render(); // the select shows the role the account still has
    return;
  }
  if ("role" in body) say("accounts_said_role", { name: nameOf(changed), role: changed.role });
  else say(changed.disabled ? "accounts_said_disabled" : "accounts_said_enabled", { name: nameOf(changed) });
  replace(changed);
}

function passwordDialog(a) {
  const old = $("account-password-dialog");
  if (old) old.remove();
  const error = el("p", { class: "field-error", role: "alert" });
  const input = (id, key) => [
    el("label", { for: id, text: t(key) }),
    el("input", { id, type: "password", autocomplete: "new-password", required: true, maxlength: "1024" }),
  ];
  const form = el(
    "form",
    { class: "password-form", novalidate: true },
    ...input("ap-new", "accounts_new_password"),
    ...input("ap-repeat", "accounts_repeat_password"),
    el("p", { class: "muted", text: t("accounts_password_rules", { n: MIN_LENGTH }) }),
    error,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", text: t("accounts_save") }),
      el("button", { type: "button", class: "quiet", text: t("accounts_cancel"), onclick: () => dialog.close() }),
    ),
  );
  const dialog = el(
    "dialog",
    { id: "account-password-dialog", "aria-labelledby": "account-password-title" },
    el("h2", { id: "account-password-title", text: t("accounts_set_password_of", { name: nameOf(a) }) }),
    form,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fresh = form.querySelector("#ap-new").value;
    if (fresh !== form.querySelector("#ap-repeat").value) {
      error.textContent = t("accounts_password_mismatch");
      form.querySelector("#ap-repeat").focus();
      return;
    }
    if (fresh.length < MIN_LENGTH) {
      error.textContent = t("accounts_password_rules", { n: MIN_LENGTH });
      form.querySelector("#ap-new").focus();
      return;
    }
    let changed;
    try {
      changed = await call("POST", `/api/v1/accounts/${encodeURIComponent(a.login)}/password`, { password: fresh });
    } catch (failure) {
      error.textContent =
        failure.code === "password_refused"
          ? t("accounts_password_rules", { n: MIN_LENGTH })
          : t("accounts_failed", { why: failure.message || failure.status });
      form.querySelector("#ap-new").focus();
      return;
    }
    dialog.close();
    say("accounts_said_password", { name: nameOf(changed) });
    replace(changed);
    document.querySelector(`tr[data-login="${CSS.escape(changed.login)}"] button.set-password`)?.focus();
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  form.querySelector("#ap-new").focus();
}

function roleCell(a) {
  const select = el(
    "select",
    { class: "role", "aria-label": t("role_of", { name: nameOf(a) }) },
    ...ROLES.map((r) => el("option", { value: r, text: t("role_" + r), selected: r === a.role })),
  );
  select.addEventListener("change", () => change(a, { role: select.value }));
  return el("td", {}, select);
}

function signsInCell(a) {
  const key = a.disabled ? "accounts_enable" : "accounts_disable";
  const label = a.disabled ? "accounts_enable_of" : "accounts_disable_of";
  return el(
    "td",
    {},
    el("span", { class: "badge", "data-status": a.disabled ? "offline" : "ready", text: t(a.disabled ? "accounts_disabled" : "accounts_enabled") }),
    " ",
    el("button", {
      type: "button",
      class: "quiet-dark toggle",
      "aria-label": t(label, { name: nameOf(a) }),
      text: t(key),
      onclick: () => change(a, { disabled: !a.disabled }),
    }),
  );
}

function render() {
  const rows = state.accounts.map((a) =>
    el(
      "tr",
      { "data-login": a.login, "data-disabled": a.disabled ? "yes" : "no" },
      el("th", { scope: "row", text: nameOf(a) }),
      el("td", { text: a.login }),
      el("td", { text: a.extension || "—" }),
      roleCell(a),
      signsInCell(a),
      el(
        "td",
        {},
        el("span", { class: "muted", text: t(a.password_set ? "accounts_password_set" : "accounts_password_none") }),
        " ",
        el("button", {
          type: "button",
          class: "quiet-dark set-password",
          "aria-label": t("accounts_set_password_of", { name: nameOf(a) }),
          text: t("accounts_set_password"),
          onclick: () => passwordDialog(a),
        }),
      ),
    ),
  );
  $("accounts-rows").replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", text: t("accounts_empty") }))]),
  );
  sayNow();
  renderNewcomers();
  document.title = t("accounts_title");
}

// Employees with no account yet (GET /api/v1/employees: `login` null): given one here, a password next.
async function loadNewcomers() {
  try {
    const answer = await call("GET", "/api/v1/employees");
    state.newcomers = (answer.employees || []).filter((e) => !e.login);
  } catch {
    state.newcomers = [];
  }
}

function renderNewcomers() {
  const none = state.newcomers.length === 0;
  $("new-account-none").hidden = !none;
  $("new-account").hidden = none;
  const chosen = $("new-employee").value;
  $("new-employee").replaceChildren(
    ...state.newcomers.map((e) => el("option", { value: e.id, text: e.extension ? `${e.name} · ${e.extension}` : e.name })),
  );
  if (state.newcomers.some((e) => e.id === chosen)) $("new-employee").value = chosen;
  const role = $("new-role").value || "employee";
  $("new-role").replaceChildren(...ROLES.map((r) => el("option", { value: r, text: t("role_" + r) })));
  $("new-role").value = role;
  $("new-account-error").textContent = state.newError ? t(state.newError.key, state.newError.vars) : "";
}

async function createAccount(event) {
  event.preventDefault();
  const who = state.newcomers.find((e) => e.id === $("new-employee").value);
  const login = $("new-login").value.trim();
  if (!who) return;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(login)) {
    state.newError = { key: "accounts_bad_login", vars: {} };
    renderNewcomers();
    $("new-login").focus();
    return;
  }
  let created;
  try {
    created = await call("POST", "/api/v1/accounts", { employee_id: who.id, login, role: $("new-role").value });
  } catch (failure) {
    const key = { has_login: "accounts_refused_has_login", login_taken: "accounts_refused_login_taken" }[failure.code];
    state.newError = key ? { key, vars: { name: who.name, login } } : { key: "accounts_failed", vars: { why: failure.message } };
    renderNewcomers();
    $("new-login").focus();
    return;
  }
  state.newError = null;
  $("new-login").value = "";
  state.accounts = [...state.accounts, created].sort((a, b) => a.login.localeCompare(b.login));
  state.newcomers = state.newcomers.filter((e) => e.id !== who.id);
  say("accounts_said_created", { name: nameOf(created), login: created.login });
  render();
  document.querySelector(`tr[data-login="${CSS.escape(created.login)}"] button.set-password`)?.focus();
}

async function main() {
  if (!(await startDeskPage(["console", "accounts"], render))) return;
  try {
    state.accounts = (await call("GET", "/api/v1/accounts")).accounts || [];
  } catch {
    state.error = { key: "accounts_load_failed", vars: {} };
  }
  await loadNewcomers();
  $("new-account").addEventListener("submit", createAccount);
  render();
  document.body.dataset.ready = "1";
}

main();
