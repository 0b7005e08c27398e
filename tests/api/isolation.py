"""The tenant-isolation walker: every /api/v1 route, called by tenant A with tenant B's ids.

A route passes when a foreign id answers 404, a list shows none of B's objects, and B's rows
in the database are byte-for-byte unchanged afterwards. Every route needs an entry in
``EXAMPLES`` (a valid body), so a new route cannot slip past the walk unnoticed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.db.registry import metadata
from tests.factories import TenantKit

PARAM = re.compile(r"{(\w+)}")

# A valid request body for every mutating route (so that validation cannot hide a leak).
EXAMPLES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/tenants/{tenant_id}"): {"name": "Renamed by A"},
    ("POST", "/api/v1/users"): {"email": "new-a@example.com", "name": "New", "role": "agent"},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "Renamed by A", "disabled": True},
    ("POST", "/api/v1/api-keys"): {"name": "a-key"},
    ("DELETE", "/api/v1/api-keys/{key_id}"): None,
    ("POST", "/api/v1/contacts"): {"name": "A's contact"},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"name": "Renamed by A"},
    ("DELETE", "/api/v1/contacts/{contact_id}"): None,
    # The same address B's contact has: A must get its own contact, not B's.
    ("POST", "/api/v1/contacts/lookup"): {"kind": "whatsapp", "value": "34600999888"},
    ("POST", "/api/v1/contacts/{contact_id}/addresses"): {"kind": "web", "value": "visitor-a"},
    ("DELETE", "/api/v1/contacts/{contact_id}/addresses/{address_id}"): None,
    ("POST", "/api/v1/contacts/{contact_id}/merge/preview"): {"other_id": "ct_other"},
    ("POST", "/api/v1/contacts/{contact_id}/merge"): {"other_id": "ct_other"},
    ("POST", "/api/v1/contact-merges/{merge_id}/undo"): None,
    ("PATCH", "/api/v1/conversations/{conversation_id}"): {"status": "closed"},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"body": "leak?"},
}


@dataclass
class WalkReport:
    failures: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/api/v1/")
        for method in ops
    )


async def tenant_rows(container: Container, tenant_id: str) -> dict[str, list[str]]:
    """Every row of every tenant-scoped table belonging to ``tenant_id``, serialised."""
    dump: dict[str, list[str]] = {}
    async with container.sessions() as session:
        for table in metadata.sorted_tables:
            column = table.c.get("tenant_id") if table.name != "tenants" else table.c.id
            if column is None:
                continue
            rows = (await session.execute(select(table).where(column == tenant_id))).all()
            dump[table.name] = sorted(
                json.dumps(dict(r._mapping), default=str, sort_keys=True) for r in rows
            )
    return dump


async def walk(
    client: httpx.AsyncClient,
    app: FastAPI,
    container: Container,
    a: TenantKit,
    b: TenantKit,
    b_ids: dict[str, str],
) -> WalkReport:
    report = WalkReport()
    before = await tenant_rows(container, b.tenant_id)
    b_values = set(b_ids.values())
    for method, path in api_routes(app):
        report.routes.append(f"{method} {path}")
        params = PARAM.findall(path)
        if method in {"POST", "PATCH", "PUT", "DELETE"} and (method, path) not in EXAMPLES:
            report.failures.append(f"{method} {path}: no example body in EXAMPLES")
            continue
        missing = [p for p in params if p not in b_ids]
        if missing:
            report.failures.append(f"{method} {path}: no foreign id for {missing}")
            continue
        url = path
        for p in params:
            url = url.replace("{" + p + "}", b_ids[p])
        body = EXAMPLES.get((method, path))
        if isinstance(body, dict) and body.get("other_id") == "ct_other":
            body = {"other_id": b_ids["contact_id"]}  # merging with a foreign contact
        kwargs: dict[str, Any] = {"headers": a.headers}
        if body is not None:
            kwargs["json"] = body
        response = await client.request(method, url, **kwargs)
        if params:
            if response.status_code != 404:
                report.failures.append(
                    f"{method} {path}: foreign id answered {response.status_code}, not 404"
                )
        else:
            leaked = [v for v in b_values if v in response.text]
            if leaked:
                report.failures.append(f"{method} {path}: response shows B's ids {leaked}")
            if response.status_code >= 500:
                report.failures.append(f"{method} {path}: {response.status_code}")
    after = await tenant_rows(container, b.tenant_id)
    for table in before:
        if before[table] != after.get(table):
            report.failures.append(f"tenant B's rows in {table} changed during A's walk")
    return report
