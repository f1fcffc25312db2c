"""The API framework: the error shape for every refusal (ours and aiohttp's), the body limit, tokens,
and an OpenAPI document that lists exactly the routes the daemon serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from cti_daemon.api.auth import TokenBook, TokenFileError, parse_tokens
from cti_daemon.api.openapi import DOCUMENT_PATH
from cti_daemon.api.routes import ACTOR, Route, json_body, ok
from cti_daemon.api.server import ApiServer
from cti_daemon.app import Daemon
from cti_daemon.config import ConfigError, load
from tests.conftest import daemon_config
from tests.support.api import new_token, write_tokens

TOKEN = "t0ken-for-the-framework-tests"


async def _echo(request: web.Request) -> web.Response:
    body = await json_body(request)
    return ok({"actor": request[ACTOR], "got": body}, status=201)


async def _boom(_request: web.Request) -> web.Response:
    raise RuntimeError("password=hunter2 leaked into an exception")


_ROUTES = [
    Route("POST", "/api/v1/echo", _echo, "echo", {"201": {"description": "echoed"}}, request_body={}),
    Route("GET", "/api/v1/boom", _boom, "fails", {"200": {"description": "never"}}),
]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    api = ApiServer(
        listen="127.0.0.1:0", routes=_ROUTES, tokens=TokenBook({"crm": TOKEN}), max_body_bytes=2048
    )
    async with api, aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield f"http://127.0.0.1:{api.port}", http


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, dict[str, Any], Any]:
    async with http.request(method, url, **kw) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, dict(resp.headers), await resp.json()


def _is_error(body: Any, code: str) -> bool:
    return (
        set(body) == {"error"}
        and set(body["error"]) == {"code", "message", "field"}
        and body["error"]["code"] == code
        and bool(body["error"]["message"])
    )


async def test_given_a_valid_body_then_the_handler_sees_it_and_the_token_name_as_actor(server: Any) -> None:
    base, http = server
    status, _, body = await _call(http, "POST", f"{base}/api/v1/echo", json={"a": "ё"})
    assert status == 201 and body == {"actor": "crm", "got": {"a": "ё"}}


@pytest.mark.parametrize(
    ("method", "path", "kw", "status", "code"),
    [
        ("GET", "/nowhere", {}, 404, "not_found"),
        ("DELETE", "/api/v1/echo", {}, 405, "method_not_allowed"),
        (
            "POST",
            "/api/v1/echo",
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "bad_json",
        ),
        (
            "POST",
            "/api/v1/echo",
            {"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
            400,
            "bad_json",
        ),
        ("POST", "/api/v1/echo", {"json": [1, 2]}, 400, "bad_json"),
        ("POST", "/api/v1/echo", {"data": b"a=1"}, 415, "unsupported_media_type"),
        ("POST", "/api/v1/echo", {"json": {"x": "y" * 4096}}, 413, "payload_too_large"),
        ("GET", "/api/v1/boom", {"data": b"z" * 4096}, 413, "payload_too_large"),
        ("GET", "/api/v1/boom", {}, 500, "internal"),
    ],
)
async def test_given_a_bad_request_then_the_answer_is_the_json_error_shape(
    server: Any,
    method: str,
    path: str,
    kw: dict[str, Any],
    status: int,
    code: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, http = server
    got, headers, body = await _call(http, method, base + path, **kw)
    assert got == status and _is_error(body, code), body
    if status == 405:
        assert "POST" in headers["Allow"]
    if status == 500:
        assert "hunter2" not in body["error"]["message"]
        assert "api.handler_failed" in capsys.readouterr().err


async def test_given_a_chunked_body_over_the_limit_then_413(server: Any) -> None:
    base, http = server

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"x": "'
        for _ in range(8):
            yield b"y" * 512
        yield b'"}'

    status, _, body = await _call(
        http, "POST", f"{base}/api/v1/echo", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 413 and _is_error(body, "payload_too_large")


def test_given_the_daemon_then_the_openapi_document_lists_exactly_its_routes(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path, ("crm", new_token()))
    config = daemon_config(
        ami_port=1,
        mqtt_url="mqtt://127.0.0.1:1",
        db_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        http={"tokens_file": str(tokens)},
    )
    daemon = Daemon(config)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in daemon.api.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    doc = daemon.api.document
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    assert ("get", "/api/v1/lookup") in served and ("get", DOCUMENT_PATH) in served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
            assert {"200", "201", "204", "101"} & set(op["responses"]), (method, path)  # 101: the stream
            pages = path in {"/", "/reports", "/accounts"} or path.startswith("/static/")
            public = path in {"/healthz", "/metrics", DOCUMENT_PATH, "/api/v1/session"} or pages
            assert (op["security"] == []) is public
            # Signing in is public, and a wrong password or an ended session is its 401.
            assert ("401" in op["responses"]) is not public or path == "/api/v1/session"


def test_given_a_tokens_file_with_mistakes_then_every_bad_line_is_named_without_the_token() -> None:
    secret = "abcdefghijklmnopqrstuvwxyz"
    text = (
        f"# comment\n\ncrm:{secret}\nnocolon\nbad name:{secret}x\ncrm:{secret}y\nshort:abc\ncopy:{secret}\n"
    )
    with pytest.raises(TokenFileError) as err:
        parse_tokens(text, "tokens")
    assert [p.split(":")[0] for p in err.value.problems] == [
        "tokens line 4",
        "tokens line 5",
        "tokens line 6",
        "tokens line 7",
        "tokens line 8",
    ]
    assert secret not in str(err.value)
    assert parse_tokens(f"  crm : {secret}  \n") == {"crm": secret}


def test_given_constant_time_lookup_then_only_an_exact_token_names_its_actor() -> None:
    book = TokenBook({"crm": "a" * 20, "console": "b" * 20})
    assert book.actor_for("a" * 20) == "crm" and book.actor_for("b" * 20) == "console"
    assert (
        book.actor_for("a" * 19) is None and book.actor_for("a" * 21) is None and book.actor_for("") is None
    )


def test_given_check_config_with_a_bad_tokens_file_then_the_key_and_line_are_named(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("crm:tiny-s3cret\n", encoding="utf-8")
    cfg = tmp_path / "cti.toml"
    cfg.write_text(f'[ami]\nsecret = "x"\n[http]\ntokens_file = "{tokens}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(cfg, env={})
    (problem,) = err.value.problems
    assert problem.key == "http.tokens_file" and "line 1" in problem.reason
    assert "tiny-s3cret" not in problem.reason
