"""A signed-in person changes their own password: the current one is asked again, a wrong one counts
against the sign-in limit, a weak new one is refused with the field, every other session of theirs ends
while the browser that asked stays signed in, and another site's page cannot do it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import PASSWORDS, give_passwords, page

PATH = "/api/v1/session/password"
NEW = "a-new-Pa55word-for-pavel"


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(write_tokens(tmp_path, ("reception-console", token)))},
        sessions={"signin_limit_per_login": 3, "signin_limit_per_address": 50},
    )
    async with running_api(config, token) as running:
        yield running


async def test_given_pavel_signed_in_twice_when_he_changes_his_password_then_only_the_asking_tab_stays_in(
    api: Api,
) -> None:
    async with page(api.base) as asking, page(api.base) as elsewhere:
        assert (await asking.sign_in("porlov"))[0] == 200
        assert (await elsewhere.sign_in("porlov"))[0] == 200
        before = asking.cookie()
        status, body, _ = await asking.call("POST", PATH, {"current": PASSWORDS["porlov"], "new": NEW})
        assert status == 200 and body["login"] == "porlov"
        assert asking.cookie() not in (None, before)  # a new session for the browser that asked
        assert (await asking.call("GET", "/api/v1/session"))[0] == 200
        assert (await elsewhere.call("GET", "/api/v1/session"))[0] == 401  # the other one ended
    async with page(api.base) as later:
        assert (await later.sign_in("porlov", PASSWORDS["porlov"]))[0] == 401
        assert (await later.sign_in("porlov", NEW))[0] == 200


async def test_given_a_wrong_current_password_then_403_naming_it_and_three_of_them_are_limited(
    api: Api,
) -> None:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        for _ in range(3):
            status, body, _ = await tab.call("POST", PATH, {"current": "a-guess-at-it", "new": NEW})
            assert status == 403, body
            assert body["error"]["code"] == "wrong_password" and body["error"]["field"] == "current"
        status, body, resp = await tab.call("POST", PATH, {"current": PASSWORDS["porlov"], "new": NEW})
        assert status == 429 and int(resp.headers["Retry-After"]) > 0
        assert (await tab.call("GET", "/api/v1/session"))[0] == 200  # still signed in, password unchanged
    async with page(api.base) as later:
        assert (await later.sign_in("porlov", NEW))[0] in (401, 429)  # never set


async def test_given_a_weak_new_password_then_400_naming_the_field_and_nothing_changes(api: Api) -> None:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        for weak in ("q7x!", "", "ten\ncharacters-and-more", 5):
            status, body, _ = await tab.call("POST", PATH, {"current": PASSWORDS["porlov"], "new": weak})
            assert status == 400, (weak, body)
            assert body["error"]["field"] == "new"
            assert weak == 5 or weak == "" or str(weak) not in body["error"]["message"]  # never echoed
        assert (await tab.call("GET", "/api/v1/session"))[0] == 200
    async with page(api.base) as later:
        assert (await later.sign_in("porlov", PASSWORDS["porlov"]))[0] == 200


async def test_given_no_session_or_another_sites_origin_then_nothing_changes(api: Api) -> None:
    async with page(api.base) as tab:
        body = {"current": PASSWORDS["porlov"], "new": NEW}
        assert (await tab.call("POST", PATH, body))[0] == 401
        assert (await tab.sign_in("porlov"))[0] == 200
        status, answer, _ = await tab.call("POST", PATH, body, origin="https://evil.example")
        assert status == 403 and answer["error"]["code"] == "bad_origin"
        # A service token is no person: it has no password to change.
        status, _ = await api.send("POST", PATH, body)
        assert status == 401
    async with page(api.base) as later:
        assert (await later.sign_in("porlov", PASSWORDS["porlov"]))[0] == 200
