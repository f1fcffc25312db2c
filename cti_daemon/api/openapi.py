"""The OpenAPI 3 document, generated from the registered routes (so it cannot miss one)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cti_daemon.api.routes import Route

DOCUMENT_PATH = "/api/v1/openapi.json"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid", "not_found", "unauthorized"]},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}

_ERRORS = {
    "400": "bad input: the message and field say what and where",
    "401": "no bearer token, or an unknown one",
    "404": "no such thing",
    "413": "request body too large",
    "503": "a part the answer needs (the store, AMI) is down",
}
_PATH_PARAM = re.compile(r"{(\w+)}")


def _error_response(text: str) -> dict[str, Any]:
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = dict(route.responses)
    for status, text in _ERRORS.items():
        if status == "401" and route.public:
            continue
        responses.setdefault(status, _error_response(text))
    params = list(route.parameters)
    declared = {p["name"] for p in params if p.get("in") == "path"}
    params.extend(
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(route.path)
        if name not in declared
    )
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower()).strip('_')}",
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if params:
        op["parameters"] = params
    if route.request_body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": dict(route.request_body)}},
        }
    op["security"] = [] if route.public else [{"bearer": []}]
    return op


def document(routes: Iterable[Route], *, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cti-daemon HTTP API",
            "version": version,
            "description": 'Errors are always {"error": {"code", "message", "field"}}. '
            "Send Authorization: Bearer <token> (tokens from http.tokens_file) "
            "except where security is empty.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
