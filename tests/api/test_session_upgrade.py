"""`api.sessions.session_principal` for routes that authenticate themselves (the WebSocket stream): the
cookie's person, and the Origin check on the upgrade, so another site's page cannot open the stream."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from cti_daemon.api.errors import ApiError
from cti_daemon.api.routes import Route
from cti_daemon.api.server import ApiServer
from cti_daemon.api.session_book import SessionBook
from cti_daemon.api.sessions import routes as session_routes
from cti_daemon.api.sessions import session_principal
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from tests.support.browser import give_passwords, page


async def _echo_who(request: web.Request) -> web.StreamResponse:
    principal = await session_principal(request)
    if principal is None:
        raise ApiError(401, "unauthorized", "sign in")
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_json({"actor": principal.actor, "role": principal.role.value})
    await ws.close()
    return ws


async def test_given_a_cookie_then_the_upgrade_knows_the_person_and_a_foreign_origin_is_refused(
    seeded_sqlite: tuple[str, SeedSummary],
) -> None:
    db_url = seeded_sqlite[0]
    await give_passwords(db_url)
    store = open_store(db_url)
    limits = SignInLimits(per_login=5, per_address=20, window_s=60)
    book = SessionBook(store, idle_s=600, max_s=3600, limits=limits, clock=lambda: datetime.now(UTC))
    stream = Route("GET", "/ws", _echo_who, "test stream", {"200": {"description": "ok"}}, public=True)
    try:
        async with ApiServer(
            listen="127.0.0.1:0", routes=[*session_routes(book), stream], sessions=book
        ) as api:
            base = f"http://127.0.0.1:{api.port}"
            async with page(base) as tab:
                assert (await tab.sign_in("porlov"))[0] == 200
                async with tab.http.ws_connect(f"{base}/ws", origin=base) as ws:
                    assert await ws.receive_json() == {"actor": "porlov", "role": "employee"}
                for origin in ("https://evil.example", None):
                    headers = {"Origin": origin} if origin else {}
                    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                        await tab.http.ws_connect(f"{base}/ws", headers=headers)
                    assert refused.value.status == 403
            async with page(base) as stranger:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await stranger.http.ws_connect(f"{base}/ws", origin=base)
                assert refused.value.status == 401
    finally:
        await store.dispose()
