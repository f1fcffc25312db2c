"""The page's assets without a browser: what the package ships, their size, no inline code, the headers."""

from __future__ import annotations

import json
import re

from cti_daemon.crm import accounts
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.accounts import demo_hash
from cti_daemon.web.pages import load_assets
from tests.support.api import Api
from tests.support.browser import page

FIRST_LOAD_LIMIT = 300 * 1024


def test_given_the_packaged_assets_then_a_first_load_of_everything_stays_under_300_kb() -> None:
    assets = load_assets()
    assert {"index.html", "main.js", "app.css", "en.json", "ru.json"} <= assets.keys()
    assert sum(len(a.body) for a in assets.values()) < FIRST_LOAD_LIMIT


def test_given_the_page_then_no_script_or_style_is_inline_so_the_csp_needs_no_unsafe_inline() -> None:
    assets = load_assets()
    for page_name in ("index.html", "console.html", "reports.html", "accounts.html"):
        html = assets[page_name].body.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], page_name
        assert "<style" not in html, page_name
    for name, asset in assets.items():
        text = asset.body.decode()
        assert not re.search(r"\sstyle\s*=", text), name
        assert not re.search(r"\son[a-z]+\s*=\s*\"", text), name  # no onclick="..." handlers
        if name.endswith(".js"):
            assert "innerHTML" not in text and "eval(" not in text, name


def test_given_the_catalogs_then_english_and_russian_have_the_same_texts_and_every_key_used_exists() -> None:
    assets = load_assets()
    en = json.loads(assets["en.json"].body)
    ru = json.loads(assets["ru.json"].body)
    assert en.keys() == ru.keys()
    console_en = json.loads(assets["console-en.json"].body)
    console_ru = json.loads(assets["console-ru.json"].body)
    assert console_en.keys() == console_ru.keys() and not console_en.keys() & en.keys()
    accounts_en = json.loads(assets["accounts-en.json"].body)
    accounts_ru = json.loads(assets["accounts-ru.json"].body)
    assert accounts_en.keys() == accounts_ru.keys() and not accounts_en.keys() & (
        en.keys() | console_en.keys()
    )
    en, ru = {**en, **console_en, **accounts_en}, {**ru, **console_ru, **accounts_ru}
    assert all(isinstance(v, str) and v.strip() for v in [*en.values(), *ru.values()])
    used: set[str] = set()
    for name, asset in assets.items():
        text = asset.body.decode()
        if name.endswith(".html"):
            used |= set(re.findall(r'data-i18n="([a-z0-9_]+)"', text))
        if name.endswith(".js"):
            code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
            used |= set(re.findall(r'\bt\("([a-z0-9_]+)"\s*[,)]', code))
    assert used and used <= en.keys(), sorted(used - en.keys())


async def test_given_the_daemon_then_the_page_is_served_with_a_strict_policy_and_revalidated(
    site: Api,
) -> None:
    async with site.http.get(site.url("/")) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert resp.headers["Cache-Control"] == "no-cache"
        etag = resp.headers["ETag"]
    async with site.http.get(site.url("/"), headers={"If-None-Match": etag}) as again:
        assert again.status == 304
    async with site.http.get(site.url("/static/main.js")) as js:
        assert js.status == 200 and js.content_type == "text/javascript"
    async with site.http.get(site.url("/static/missing.js")) as missing:
        assert missing.status in (401, 404)  # nothing but the packaged files is served


async def test_given_reception_signed_in_then_slash_is_the_console_and_an_employee_still_gets_his_page(
    site: Api, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    store = open_store(seeded_sqlite[0])
    try:  # Sergey (203) is made an admin: admin may open the console too
        assert await accounts.set_password_hash(store, "slebedev", demo_hash("admin-Pa55word-203"))
        assert await accounts.set_role(store, "slebedev", "admin")
    finally:
        await store.dispose()
    async with (
        page(site.base) as anna,
        page(site.base) as pavel,
        page(site.base) as sergey,
        page(site.base) as nobody,
    ):
        assert (await anna.sign_in("asmirnova"))[0] == 200
        assert (await pavel.sign_in("porlov"))[0] == 200
        assert (await sergey.sign_in("slebedev", "admin-Pa55word-203"))[0] == 200
        served = {}
        for name, tab in (("anna", anna), ("pavel", pavel), ("sergey", sergey), ("nobody", nobody)):
            async with tab.http.get(site.url("/")) as resp:
                assert resp.status == 200 and "unsafe-inline" not in resp.headers["Content-Security-Policy"]
                served[name] = await resp.text()
    assert '<script type="module" src="/static/console.js">' in served["anna"] == served["sergey"]
    assert '<script type="module" src="/static/main.js">' in served["pavel"]
    assert served["nobody"] == served["pavel"]  # the sign-in form is the employee page's
