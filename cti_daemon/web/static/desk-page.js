// The start the desk's own pages share (the call report, the accounts): their catalogs, the language
// switch that draws the page again, and who is signed in, named in the header. Nobody signed in (the
// session ended meanwhile): the sign-in form, and null.
import * as i18n from "./i18n.js";
import { call } from "./api.js";

export async function startDeskPage(catalogs, render) {
  const lang = document.getElementById("lang");
  await i18n.start(catalogs);
  lang.value = i18n.current();
  lang.addEventListener("change", (e) => i18n.use(e.target.value));
  i18n.onChange(() => {
    lang.value = i18n.current();
    render();
  });
  let me;
  try {
    me = await call("GET", "/api/v1/session");
  } catch {
    location.assign("/");
    return null;
  }
  document.getElementById("who").textContent = me.name ? `${me.name} (${me.login})` : me.login;
  return me;
}
