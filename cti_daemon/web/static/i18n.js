// Texts come from the catalogs (en.json, ru.json); none is written in code. The browser's language
// picks, the switch changes it (remembered). Dates and numbers in the locale's form, via Intl.
const LANGS = ["en", "ru"];
const catalogs = {};
let lang = "en";
const listeners = [];

function pick() {
  const saved = localStorage.getItem("cti.lang");
  if (LANGS.includes(saved)) return saved;
  for (const wanted of navigator.languages || [navigator.language || "en"]) {
    const base = String(wanted).toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

// A page may bring its own catalogs beside the shared ones (the console: console-en.json, console-ru.json).
const extras = [];

async function load(code) {
  if (!catalogs[code]) {
    const files = [`/static/${code}.json`, ...extras.map((name) => `/static/${name}-${code}.json`)];
    const parts = await Promise.all(files.map((f) => fetch(f, { credentials: "same-origin" }).then((r) => r.json())));
    catalogs[code] = Object.assign({}, ...parts);
  }
  return catalogs[code];
}

export async function start(more = []) {
  extras.push(...more);
  await load("en");
  await use(pick(), false);
}

export async function use(code, remember = true) {
  lang = LANGS.includes(code) ? code : "en";
  await load(lang);
  if (remember) localStorage.setItem("cti.lang", lang);
  document.documentElement.lang = lang;
  apply(document);
  for (const fn of listeners) fn(lang);
}

export function current() {
  return lang;
}

export function onChange(fn) {
  listeners.push(fn);
}

// t("key", {name: "..."}): the text in the current language, {name} replaced; English if missing.
export function t(key, vars = {}) {
  const text = (catalogs[lang] && catalogs[lang][key]) ?? (catalogs.en && catalogs.en[key]) ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// Whether the catalogs have this key (a stored code with no text falls back to what was stored).
export function has(key) {
  return Boolean((catalogs[lang] && key in catalogs[lang]) || (catalogs.en && key in catalogs.en));
}

export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  document.title = t("app_title");
}

// Intl formatters are costly to build (about a millisecond each): one per language and style, kept.
const formatters = new Map();
function formatter(kind, options) {
  const key = `${lang}|${kind}`;
  if (!formatters.has(key)) {
    formatters.set(key, kind === "number" ? new Intl.NumberFormat(lang) : new Intl.DateTimeFormat(lang, options));
  }
  return formatters.get(key);
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatter("when", { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function day(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : formatter("day", { dateStyle: "medium" }).format(d);
}

export function count(n) {
  return formatter("number").format(n);
}
