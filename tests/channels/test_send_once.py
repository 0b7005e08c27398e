"""A reply is sent once even when the worker dies mid-send: the send lease and the lookup.

The states below are exactly what a SIGKILL leaves behind (the crash harness,
benchmarks/crash.py, produces them for real): a committed lease, and the provider either
holding the message or not.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from centralita.bootstrap import Container
from centralita.channels.base import TransientSendError
from centralita.conversations.handlers import (
    SendInProgress,
    _claim_recipient,
    _locked,
    deliver_outbound,
)
from centralita.conversations.models import Message
from centralita.events.envelope import Envelope
from tests.channels.fake_twilio import FakeTwilio
from tests.channels.test_twilio_sms import MONDAY_10, _clinic, _inbound, _messages, _post, twilio

__all__ = ["twilio"]  # the stand-in fixture, shared with the SMS tests


async def _reply(container: Container, client: httpx.AsyncClient, twilio: FakeTwilio) -> Message:
    account_id = await _clinic(container, twilio)
    await _post(client, account_id, _inbound("SM" + "a" * 32, "Hola, ¿a qué hora abrís?"))
    await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    return reply


async def _crashed(container: Container, reply: Message, *, lease_left: timedelta) -> None:
    """Put the reply back as a killed worker leaves it: queued, with its lease taken."""
    at = MONDAY_10 - timedelta(seconds=90)
    attempt = {"at": at.isoformat(), "until": (MONDAY_10 + lease_left).isoformat()}
    meta = {k: v for k, v in (reply.meta or {}).items() if k != "send_attempt"}
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(Message)
            .where(Message.id == reply.id)
            .values(
                delivery_status="queued",
                provider_message_id=None,
                meta={**meta, "send_attempt": attempt},
            )
        )


def _redelivery(reply: Message) -> Envelope:
    payload = {"message_id": reply.id, "direction": "outbound"}
    return Envelope("evt_redelivered", "message.queued", 1, reply.tenant_id, "", payload)


async def test_a_send_cut_short_after_the_provider_took_it_is_recorded_not_repeated(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    reply = await _reply(container, client, twilio)
    assert reply.delivery_status == "sent" and len(twilio.sent) == 1
    await _crashed(container, reply, lease_left=-timedelta(seconds=1))

    await deliver_outbound(container, _redelivery(reply))

    [again] = await _messages(container, direction="outbound")
    assert len(twilio.sent) == 1  # asked, found it, did not send it again
    assert again.delivery_status == "sent"
    assert again.provider_message_id == twilio.sent[0]["sid"]
    assert "send_attempt" not in (again.meta or {})


async def test_a_send_killed_before_the_provider_saw_it_goes_out_once(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    reply = await _reply(container, client, twilio)
    twilio.sent.clear()  # the provider never got it
    await _crashed(container, reply, lease_left=-timedelta(seconds=1))

    await deliver_outbound(container, _redelivery(reply))
    await deliver_outbound(container, _redelivery(reply))  # a second redelivery: a no-op

    [again] = await _messages(container, direction="outbound")
    assert len(twilio.sent) == 1 and again.delivery_status == "sent"
    assert again.provider_message_id == twilio.sent[0]["sid"]


async def test_while_the_lease_lasts_a_redelivery_waits_and_sends_nothing(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    reply = await _reply(container, client, twilio)
    twilio.sent.clear()
    await _crashed(container, reply, lease_left=timedelta(seconds=30))

    with pytest.raises(SendInProgress):
        await deliver_outbound(container, _redelivery(reply))
    [again] = await _messages(container, direction="outbound")
    assert twilio.sent == [] and again.delivery_status == "queued"

    container.clock = lambda: MONDAY_10 + timedelta(seconds=31)
    await deliver_outbound(container, _redelivery(reply))
    [again] = await _messages(container, direction="outbound")
    assert len(twilio.sent) == 1 and again.delivery_status == "sent"


async def test_the_same_text_already_recorded_for_another_reply_does_not_count(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    reply = await _reply(container, client, twilio)
    await _crashed(container, reply, lease_left=-timedelta(seconds=1))
    # The provider holds one message with this text, but it is another reply's (recorded).
    async with container.sessions() as session, session.begin():
        session.add(
            Message(
                **{
                    c: getattr(reply, c)
                    for c in (
                        "tenant_id",
                        "conversation_id",
                        "contact_id",
                        "channel",
                        "channel_account_id",
                        "direction",
                        "kind",
                        "body",
                    )
                },
                id="msg_earlier_twin",
                provider_message_id=twilio.sent[0]["sid"],
                delivery_status="sent",
            )
        )

    await deliver_outbound(container, _redelivery(reply))

    [first, second] = [m for m in await _messages(container, direction="outbound")]
    assert len(twilio.sent) == 2  # it was sent again: the provider's copy was the twin's
    mine = first if first.id == reply.id else second
    assert mine.provider_message_id == twilio.sent[1]["sid"]


# ---- twin replies: the same text to the same number, both queued --------------------------
# The lookup matches by number and text, so it cannot tell twins apart: while one twin's
# attempt is unresolved, the other must not start one, or it could claim the other's sid.


async def _twins(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> tuple[Message, Message]:
    """Two queued replies with the same text to the caller, neither at the provider yet."""
    first = await _reply(container, client, twilio)
    twilio.sent.clear()
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(Message)
            .where(Message.id == first.id)
            .values(delivery_status="queued", provider_message_id=None)
        )
        twin = Message(
            **{c: getattr(first, c) for c in _TWIN_COLUMNS},
            id="msg_twin",
            delivery_status="queued",
        )
        session.add(twin)
    [a, b] = [m for m in await _messages(container, direction="outbound")]
    return (a, b) if a.id == first.id else (b, a)


_TWIN_COLUMNS = ("tenant_id", "conversation_id", "contact_id", "channel", "channel_account_id",
                 "direction", "kind", "author_type", "body")  # fmt: skip


async def _both_sent_once_each(container: Container, twilio: FakeTwilio) -> None:
    replies = await _messages(container, direction="outbound")
    assert [m.delivery_status for m in replies] == ["sent", "sent"]
    assert len(twilio.sent) == 2
    assert {m.provider_message_id for m in replies} == {s["sid"] for s in twilio.sent}
    assert all("send_attempt" not in (m.meta or {}) for m in replies)


async def test_a_twin_waits_while_the_other_twins_attempt_is_unresolved(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    a, b = await _twins(container, client, twilio)
    await _crashed(container, a, lease_left=-timedelta(seconds=1))  # killed before sending

    with pytest.raises(SendInProgress):  # its sid could be taken for a's by a's lookup
        await deliver_outbound(container, _redelivery(b))
    assert twilio.sent == []

    await deliver_outbound(container, _redelivery(a))  # asks, finds nothing, sends
    await deliver_outbound(container, _redelivery(b))
    await deliver_outbound(container, _redelivery(a))  # late redeliveries: no-ops
    await deliver_outbound(container, _redelivery(b))

    await _both_sent_once_each(container, twilio)


async def test_twins_started_at_once_by_two_workers_take_one_lease(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    a, b = await _twins(container, client, twilio)
    # One worker is half-way through taking a's lease (checked, written, not committed)
    # when another starts on b.
    async with container.sessions() as session, session.begin():
        mine = await _locked(session, _redelivery(a))
        assert mine is not None
        await _claim_recipient(session, mine)
        at = MONDAY_10.isoformat()
        mine.meta = {**(mine.meta or {}), "send_attempt": {"at": at, "until": at}}
        await session.flush()
        other = asyncio.create_task(deliver_outbound(container, _redelivery(b)))
        await asyncio.sleep(0.5)
        assert not other.done()  # it waits for the recipient's lock
    with pytest.raises(SendInProgress):
        await other
    assert twilio.sent == []

    await deliver_outbound(container, _redelivery(a))
    await deliver_outbound(container, _redelivery(b))
    await _both_sent_once_each(container, twilio)


async def test_a_timed_out_twin_blocks_until_it_goes_through_or_fails(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    a, b = await _twins(container, client, twilio)
    twilio.failures.append((503, 20500, "Internal Server Error"))
    with pytest.raises(TransientSendError):  # it may have reached Twilio: the lease stays
        await deliver_outbound(container, _redelivery(a))
    with pytest.raises(SendInProgress):
        await deliver_outbound(container, _redelivery(b))

    twilio.failures.append((400, 21211, "The 'To' number is not a valid phone number."))
    await deliver_outbound(container, _redelivery(a))  # refused for good: the lease goes
    await deliver_outbound(container, _redelivery(b))

    first, second = await _messages(container, direction="outbound")
    assert (first.id, first.delivery_status) == (a.id, "failed")
    assert (second.id, second.delivery_status) == (b.id, "sent")
    assert [s["sid"] for s in twilio.sent] == [second.provider_message_id]
