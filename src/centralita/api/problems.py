"""Publish the error answers the edge gives, so the OpenAPI document tells the whole truth.

Routes declare their own domain errors; the answers every route can give whatever its code
(authentication, roles, the request limits, validation, Idempotency-Key) are added here, as
``application/problem+json`` with one schema. ``tests/api/test_schemathesis.py`` holds the
document to it: every status, content type and body must be declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from centralita.api.errors import PROBLEM

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["title", "status", "detail"],
}

WHY = {
    400: "The request cannot be read; the detail says why.",
    401: "Not authenticated.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such id in the caller's tenant.",
    408: "The request body arrived too slowly.",
    409: "Conflicts with the current state, or the Idempotency-Key is in use.",
    413: "The request body is too large.",
    422: "Invalid input; `errors` names each bad field.",
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: a repeated request with the same key returns the first one's "
        "response (docs/api.md, Idempotency)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def edge_codes(route: APIRoute, *, api: bool) -> set[int]:
    """The statuses the edge itself may answer for ``route``."""
    methods = route.methods or set()
    codes = {413, 422}  # the request limits (size, JSON depth) and validation
    if methods & BODY_METHODS:
        codes |= {400, 408}  # a body that cannot be parsed; the body-read deadline
    if "{" in route.path:
        codes.add(404)
    if api:
        codes |= {401, 403}
        if "POST" in methods:
            codes |= {400, 409}  # a bad Idempotency-Key; one still in use
    return codes


def _api_routes(routes: Iterable[BaseRoute]) -> Iterable[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI includes a router by reference and builds its routes from the originals
        # when first asked, so the originals are the ones to annotate
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def declare(routes: Iterable[BaseRoute], *, api: bool) -> None:
    """Add the edge's problem answers (and, on the API's POSTs, the Idempotency-Key).

    Idempotent: the domain routers are module-level objects that every app includes again.
    """
    for route in _api_routes(routes):
        if not route.include_in_schema:
            continue
        for code in edge_codes(route, api=api):
            entry = route.responses.setdefault(code, {})
            entry.setdefault("description", WHY[code])
            entry.setdefault("content", {}).setdefault(PROBLEM, {"schema": PROBLEM_SCHEMA})
        if api and "POST" in (route.methods or set()):
            extra = route.openapi_extra = dict(route.openapi_extra or {})
            parameters = list(extra.get("parameters", []))
            if all(p.get("name") != IDEMPOTENCY_KEY["name"] for p in parameters):
                parameters.append(IDEMPOTENCY_KEY)
            extra["parameters"] = parameters
