"""Merging contacts through the API: preview, merge, undo, and undo refused on conflict."""

from __future__ import annotations

from typing import Any

import httpx

from centralita.bootstrap import Container
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request

API = "/api/v1"


async def _inbound(client: httpx.AsyncClient, kit: TenantKit, value: str, text: str) -> None:
    body, headers = simulator_request(kit.simulator_secret, text=text, value=value, name="Ana")
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text


async def _contact_of(client: httpx.AsyncClient, kit: TenantKit, kind: str, value: str) -> dict:
    r = await client.post(
        f"{API}/contacts/lookup", headers=kit.headers, json={"kind": kind, "value": value}
    )
    assert r.json()["created"] is False
    return r.json()["contact"]


async def _history(client: httpx.AsyncClient, kit: TenantKit, contact_id: str) -> dict[str, Any]:
    """A contact's conversations with their messages' and interactions' contact ids."""
    h = kit.headers
    convs = (
        await client.get(f"{API}/conversations", headers=h, params={"contact_id": contact_id})
    ).json()["items"]
    out: dict[str, Any] = {}
    for conv in convs:
        msgs = (await client.get(f"{API}/conversations/{conv['id']}/messages", headers=h)).json()
        ixs = (await client.get(f"{API}/conversations/{conv['id']}/interactions", headers=h)).json()
        out[conv["id"]] = {
            "messages": sorted((m["id"], m["contact_id"], m["author_id"]) for m in msgs["items"]),
            "interactions": sorted((i["id"], i["contact_id"]) for i in ixs["items"]),
        }
    return out


def _fields(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contact.items() if k != "updated_at"}


async def _two_customers(client: httpx.AsyncClient, kit: TenantKit) -> tuple[dict, dict]:
    await _inbound(client, kit, "34600111222", "Hola")
    await _inbound(client, kit, "34600111222", "¿Tenéis cita?")
    await _inbound(client, kit, "34600999888", "Soy Ana otra vez, otro móvil")
    winner = await _contact_of(client, kit, "whatsapp", "34600111222")
    loser = await _contact_of(client, kit, "whatsapp", "34600999888")
    h = kit.headers
    r = await client.patch(
        f"{API}/contacts/{winner['id']}",
        headers=h,
        json={
            "name": "Ana García",
            "tags": ["vip"],
            "value": "100.00",
            "attributes": {"plan": "gold"},
            "consent": {"sms": True},
        },
    )
    assert r.status_code == 200
    r = await client.patch(
        f"{API}/contacts/{loser['id']}",
        headers=h,
        json={
            "language": "es",
            "tags": ["vip", "late"],
            "value": "20.50",
            "attributes": {"plan": "basic", "city": "Madrid"},
            "consent": {"sms": False},
        },
    )
    assert r.status_code == 200
    await client.post(
        f"{API}/contacts/{loser['id']}/addresses",
        headers=h,
        json={"kind": "email", "value": "ana@example.com"},
    )
    winner = (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json()
    loser = (await client.get(f"{API}/contacts/{loser['id']}", headers=h)).json()
    return winner, loser


async def test_preview_merge_undo_round_trip(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    winner, loser = await _two_customers(client, kit)
    w_history = await _history(client, kit, winner["id"])
    l_history = await _history(client, kit, loser["id"])
    assert len(w_history) == 1 and len(l_history) == 1

    r = await client.post(
        f"{API}/contacts/{winner['id']}/merge/preview", headers=h, json={"other_id": loser["id"]}
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["moves"] == {
        "addresses": 2,
        "conversations": 1,
        "interactions": 1,
        "messages": 1,
        # every other table that names a contact moves too (conversations.reassign)
        "appointments": 0,
        "campaign_recipients": 0,
        "erasure_requests": 0,
        "handoffs": 0,
        "opt_outs": 0,
        "spam_feedback": 0,
        "staff_messages": 0,
        "surveys": 0,
    }
    merged = preview["contact"]
    assert merged["name"] == "Ana García" and merged["language"] == "es"
    assert merged["tags"] == ["vip", "late"] and merged["value"] == "120.50"
    assert merged["attributes"] == {"plan": "gold", "city": "Madrid"}
    assert merged["consent"] == {"sms": False}
    assert len(merged["addresses"]) == 3
    # The preview wrote nothing.
    assert (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json() == winner
    assert (await client.get(f"{API}/contacts/{loser['id']}", headers=h)).json() == loser

    r = await client.post(
        f"{API}/contacts/{winner['id']}/merge", headers=h, json={"other_id": loser["id"]}
    )
    assert r.status_code == 201, r.text
    merge = r.json()
    assert merge["winner_id"] == winner["id"] and merge["loser_id"] == loser["id"]
    assert merge["moved"] == preview["moves"] and merge["undone_at"] is None
    after = (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json()
    assert _fields(after) == {**_fields(merged), "merged_into_id": None}
    gone = (await client.get(f"{API}/contacts/{loser['id']}", headers=h)).json()
    assert gone["merged_into_id"] == winner["id"] and gone["addresses"] == []
    listed = (await client.get(f"{API}/contacts", headers=h)).json()["items"]
    assert [c["id"] for c in listed] == [winner["id"]]
    history = await _history(client, kit, winner["id"])
    assert set(history) == set(w_history) | set(l_history)
    for conv in history.values():
        assert {m[1] for m in conv["messages"]} == {winner["id"]}
        assert {m[2] for m in conv["messages"]} == {winner["id"]}
        assert {i[1] for i in conv["interactions"]} == {winner["id"]}
    # The loser's old number now reaches the winner.
    assert (await _contact_of(client, kit, "whatsapp", "34600999888"))["id"] == winner["id"]
    # A merged contact is read-only, and cannot be merged again.
    r = await client.patch(f"{API}/contacts/{loser['id']}", headers=h, json={"name": "x"})
    assert r.status_code == 409 and winner["id"] in r.json()["detail"]
    r = await client.post(
        f"{API}/contacts/{winner['id']}/merge", headers=h, json={"other_id": loser["id"]}
    )
    assert r.status_code == 409

    r = await client.post(f"{API}/contact-merges/{merge['id']}/undo", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["undone_at"] is not None
    restored_w = (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json()
    restored_l = (await client.get(f"{API}/contacts/{loser['id']}", headers=h)).json()
    assert _fields(restored_w) == _fields(winner)
    assert _fields(restored_l) == _fields(loser)
    assert await _history(client, kit, winner["id"]) == w_history
    assert await _history(client, kit, loser["id"]) == l_history

    r = await client.post(f"{API}/contact-merges/{merge['id']}/undo", headers=h)
    assert r.status_code == 409 and "already undone" in r.json()["detail"]

    for cid, role in ((winner["id"], "winner"), (loser["id"], "loser")):
        audit = (await client.get(f"{API}/contacts/{cid}/audit", headers=h)).json()
        assert [e["action"] for e in audit[:2]] == ["contact.merge_undone", "contact.merged"]
        assert audit[1]["data"]["role"] == role and audit[1]["data"]["merge_id"] == merge["id"]
    await container.relay.drain()


async def test_messages_after_the_merge_follow_their_conversation_back(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    winner, loser = await _two_customers(client, kit)
    merge = (
        await client.post(
            f"{API}/contacts/{winner['id']}/merge",
            headers=kit.headers,
            json={"other_id": loser["id"]},
        )
    ).json()
    await _inbound(client, kit, "34600999888", "Sigo aquí")
    r = await client.post(f"{API}/contact-merges/{merge['id']}/undo", headers=kit.headers)
    assert r.status_code == 200, r.text
    history = await _history(client, kit, loser["id"])
    (conv,) = history.values()
    assert len(conv["messages"]) == 2
    assert {m[1] for m in conv["messages"]} == {loser["id"]}


async def test_undo_is_refused_when_a_moved_address_was_removed(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    winner, loser = await _two_customers(client, kit)
    merge = (
        await client.post(
            f"{API}/contacts/{winner['id']}/merge", headers=h, json={"other_id": loser["id"]}
        )
    ).json()
    merged = (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json()
    email = next(a for a in merged["addresses"] if a["kind"] == "email")
    r = await client.delete(f"{API}/contacts/{winner['id']}/addresses/{email['id']}", headers=h)
    assert r.status_code == 204
    r = await client.post(f"{API}/contact-merges/{merge['id']}/undo", headers=h)
    assert r.status_code == 409
    assert "ana@example.com" in r.json()["detail"] and "removed" in r.json()["detail"]
    # Nothing changed.
    assert (await client.get(f"{API}/contacts/{winner['id']}", headers=h)).json() == {
        **merged,
        "addresses": [a for a in merged["addresses"] if a["id"] != email["id"]],
        "updated_at": merged["updated_at"],
    }
    assert (await client.get(f"{API}/contacts/{loser['id']}", headers=h)).json()[
        "merged_into_id"
    ] == winner["id"]


async def test_undo_is_last_in_first_out(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    ids = []
    for name in ("A", "B", "C"):
        ids.append(
            (
                await client.post(f"{API}/contacts", headers=h, json={"name": name, "tags": [name]})
            ).json()["id"]
        )
    a, b, c = ids
    m1 = (await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": b})).json()
    m2 = (await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": c})).json()
    r = await client.post(f"{API}/contact-merges/{m1['id']}/undo", headers=h)
    assert r.status_code == 409 and m2["id"] in r.json()["detail"]
    assert (
        await client.post(f"{API}/contact-merges/{m2['id']}/undo", headers=h)
    ).status_code == 200
    assert (
        await client.post(f"{API}/contact-merges/{m1['id']}/undo", headers=h)
    ).status_code == 200
    assert (await client.get(f"{API}/contacts/{a}", headers=h)).json()["tags"] == ["A"]
    # A winner merged away later blocks the undo of its own earlier merge.
    m3 = (await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": b})).json()
    await client.post(f"{API}/contacts/{c}/merge", headers=h, json={"other_id": a})
    r = await client.post(f"{API}/contact-merges/{m3['id']}/undo", headers=h)
    assert r.status_code == 409 and c in r.json()["detail"]


async def test_bad_merge_requests(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    a = (await client.post(f"{API}/contacts", headers=h, json={"name": "A"})).json()["id"]
    r = await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": a})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "other_id"
    r = await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": "ct_nope"})
    assert r.status_code == 404
    r = await client.post(f"{API}/contacts/{a}/merge/preview", headers=h, json={})
    assert r.status_code == 422
    tags = [f"t{i}" for i in range(30)]
    b = (await client.post(f"{API}/contacts", headers=h, json={"tags": tags})).json()["id"]
    c = (
        await client.post(f"{API}/contacts", headers=h, json={"tags": [f"u{i}" for i in range(30)]})
    ).json()["id"]
    r = await client.post(f"{API}/contacts/{b}/merge/preview", headers=h, json={"other_id": c})
    assert r.status_code == 409 and "tags" in r.json()["detail"]


async def test_deleting_a_winner_deletes_its_merged_contacts_and_blocks_undo(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    a = (await client.post(f"{API}/contacts", headers=h, json={"name": "A"})).json()["id"]
    b = (
        await client.post(
            f"{API}/contacts",
            headers=h,
            json={"name": "B", "addresses": [{"kind": "web", "value": "visitor-b"}]},
        )
    ).json()["id"]
    merge = (await client.post(f"{API}/contacts/{a}/merge", headers=h, json={"other_id": b})).json()
    r = await client.delete(f"{API}/contacts/{b}", headers=h)
    assert r.status_code == 409 and a in r.json()["detail"]
    assert (await client.delete(f"{API}/contacts/{a}", headers=h)).status_code == 204
    for cid in (a, b):
        assert (await client.get(f"{API}/contacts/{cid}", headers=h)).status_code == 404
    r = await client.post(f"{API}/contact-merges/{merge['id']}/undo", headers=h)
    assert r.status_code == 409 and "deleted" in r.json()["detail"]
    # The address is free again.
    r = await client.post(
        f"{API}/contacts/lookup", headers=h, json={"kind": "web", "value": "visitor-b"}
    )
    assert r.json()["created"] is True
