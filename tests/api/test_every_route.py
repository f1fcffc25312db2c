"""Every route of the OpenAPI document (so every endpoint, also those added later): 401 without a token
unless public, and 413 for a body over the limit where the route takes a body."""

from __future__ import annotations

import io
import json
import re

from tests.support.api import Api


def _operations(api: Api) -> list[tuple[str, str, dict[str, object]]]:
    document = api.daemon.api.document
    out = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            out.append((method.upper(), re.sub(r"\{[^}]+\}", "x1", path), operation))
    return out


async def test_given_no_token_then_every_private_route_answers_401_in_the_error_shape(api: Api) -> None:
    checked = 0
    for method, path, operation in _operations(api):
        status, body = await api.send(method, path, {} if method != "GET" else None, token=None)
        if operation.get("security") == []:
            # GET /api/v1/session answers "who is signed in": without a cookie, nobody (401) is its answer.
            assert status != 401 or (method, path) == ("GET", "/api/v1/session"), (method, path)
            continue
        assert status == 401, (method, path, status, body)
        assert body["error"]["code"] == "unauthorized"
        checked += 1
    assert checked >= 15


async def test_given_a_body_over_the_limit_then_every_route_taking_a_body_answers_413(api: Api) -> None:
    limit = api.daemon.config.http.max_body_bytes
    checked = 0
    for method, path, operation in _operations(api):
        if "requestBody" not in operation:
            continue
        huge = io.BytesIO(json.dumps({"description": "x" * (limit + 10)}).encode())
        headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
        async with api.http.request(method, api.url(path), data=huge, headers=headers) as resp:
            status, body = resp.status, await resp.json(content_type=None)
        assert status == 413, (method, path, status, body)
        assert body["error"]["code"] == "payload_too_large"
        checked += 1
    assert checked >= 7
