"""Hostile and slow HTTP clients, over raw sockets against the real server: every refusal is the JSON
error shape (including what aiohttp's parser refuses before any middleware), never a 500 or a traceback,
and a client that sends its request too slowly is disconnected."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from cti_daemon.api.auth import TokenBook
from cti_daemon.api.connection import LINGER_S
from cti_daemon.api.routes import ACTOR, Route, json_body, ok
from cti_daemon.api.server import ApiServer

TOKEN = "t0ken-for-the-hostile-client-tests"
HEAD_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0


async def _echo(request: web.Request) -> web.Response:
    return ok({"actor": request[ACTOR], "got": await json_body(request)}, status=201)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
async def port() -> AsyncIterator[int]:
    route = Route("POST", "/api/v1/echo", _echo, "echo", {"201": {"description": "echoed"}}, request_body={})
    api = ApiServer(
        listen="127.0.0.1:0",
        routes=[route],
        tokens=TokenBook({"crm": TOKEN}),
        header_timeout_s=HEAD_TIMEOUT_S,
        body_timeout_s=BODY_TIMEOUT_S,
    )
    async with api:
        assert api.port is not None
        yield api.port


async def _exchange(port: int, raw: bytes) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return _parse(await asyncio.wait_for(reader.read(), 10))
    finally:
        writer.close()


def _parse(data: bytes) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers.get("content-type", "").startswith("application/json"), data[:300]
    return Answer(int(lines[0].split()[1]), headers, json.loads(body))


def _request(
    method: bytes = b"POST", headers: bytes = b"", body: bytes = b"{}", token: bytes = TOKEN.encode()
) -> bytes:
    return (
        method + b" /api/v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer " + token + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + headers + b"\r\n" + body
    )


def _is_error(answer: Answer, status: int, code: str) -> bool:
    error = answer.body["error"]
    return answer.status == status and error["code"] == code and bool(error["message"])


def _no_traceback(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "handler_failed" not in err
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_given_a_well_formed_request_then_the_raw_socket_helper_reads_201(port: int) -> None:
    answer = await _exchange(port, _request(body=b'{"a": 1}'))
    assert answer.status == 201 and answer.body == {"actor": "crm", "got": {"a": 1}}


async def test_given_a_bearer_token_that_is_not_utf8_then_401_without_a_traceback(
    port: int, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        answer = await _exchange(port, _request(token=b"\xff\xfe"))
        assert _is_error(answer, 401, "unauthorized"), answer
    _no_traceback(capsys, caplog)


async def test_given_a_json_integer_of_5000_digits_then_400_bad_json(
    port: int, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    answer = await _exchange(port, _request(body=b'{"n": ' + b"7" * 5000 + b"}"))
    assert _is_error(answer, 400, "bad_json") and "digits" in answer.body["error"]["message"]
    _no_traceback(capsys, caplog)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (_request(headers=b"X-Long: " + b"a" * 9000 + b"\r\n"), "header_too_large"),
        (_request(headers=b"".join(b"X-H%d: v\r\n" % n for n in range(200))), "bad_request"),
        (_request(method=b"G@T"), "bad_method"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n", "bad_method"),
    ],
    ids=["header too long", "too many headers", "unknown method", "TLS hello on the plain port"],
)
async def test_given_a_request_the_http_parser_refuses_then_400_in_the_json_error_shape(
    port: int,
    raw: bytes,
    code: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = await _exchange(port, raw)
    assert _is_error(answer, 400, code), answer
    _no_traceback(capsys, caplog)


async def _seconds_until_closed(port: int, first: bytes, trickle: bytes, every_s: float) -> float:
    """Send `first`, then one byte of `trickle` every `every_s` until the server closes the connection;
    how long that took (60 s: never)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(first)
        for byte in trickle:
            if reader.at_eof() or writer.is_closing():
                break
            writer.write(bytes([byte]))
            try:
                await writer.drain()
                await asyncio.wait_for(reader.read(65536), every_s)
            except TimeoutError:
                continue
            except ConnectionError:
                break
            if time.monotonic() - started > 60:
                break
        return time.monotonic() - started
    finally:
        writer.close()


async def test_given_a_slowloris_sending_a_header_byte_at_a_time_then_it_is_disconnected(port: int) -> None:
    endless_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 500
    took = await _seconds_until_closed(port, b"", endless_head, 0.25)
    assert took < HEAD_TIMEOUT_S + 5


async def test_given_a_connection_that_sends_nothing_then_it_is_disconnected(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await asyncio.wait_for(reader.read(), HEAD_TIMEOUT_S + 5) == b""
    finally:
        writer.close()


async def test_given_a_kept_alive_connection_whose_next_request_trickles_then_it_is_disconnected(
    port: int,
) -> None:
    first = _request(body=b"{}").replace(b"Connection: close", b"Connection: keep-alive")
    took = await _seconds_until_closed(port, first, b"POST /api/v1/echo HTTP/1.1\r\nX: " + b"b" * 500, 0.25)
    assert took < HEAD_TIMEOUT_S + 5


async def test_given_a_body_that_trickles_then_408_in_the_json_error_shape_and_closed(port: int) -> None:
    head = _request(body=b"x" * 400)[:-400]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def trickle() -> None:
        writer.write(head + b'{"a": "')
        for _ in range(400):
            writer.write(b"z")
            await writer.drain()
            await asyncio.sleep(0.25)

    sending = asyncio.create_task(trickle())
    started = time.monotonic()
    try:
        answer = _parse(await asyncio.wait_for(reader.read(), 30))
        took = time.monotonic() - started
    finally:
        sending.cancel()
        writer.close()
    assert _is_error(answer, 408, "request_timeout"), answer
    assert took < BODY_TIMEOUT_S + LINGER_S + 4
