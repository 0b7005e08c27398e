"""The email channel end to end, against real servers: our SMTP receiver (aiosmtpd) fed by
aiosmtplib, outbound replies caught by a local aiosmtpd server, the signed hook a relay
uses, and IMAP polling of aioimaplib's test server."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import aiosmtplib
import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels import service as channels_service
from centralita.channels.base import HttpInbound
from centralita.channels.email.adapter import EmailAdapter, sign
from centralita.channels.mail_inbound import ImapPoller, SmtpReceiver
from centralita.channels.models import ChannelAccount, ImapMailboxState
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Interaction, Message
from centralita.conversations.service import ReceiveResult
from centralita.core.blobs import BlobStore
from centralita.core.clock import utcnow
from centralita.events.models import OutboxEvent
from centralita.staff_messages.mailcatcher import Mailbox, start_mail_catcher
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from centralita.tenants.models import Tenant
from tests.conftest import _reachable
from tests.receptionist.harness import demo_document

if TYPE_CHECKING:
    from aioimaplib import imap_testing_server as its

FIXTURES = Path(__file__).parent / "fixtures" / "email"
SECRET = "mail-hook-secret-for-tests-0001"
OURS = "recepcion@sonrisa.es"
ANA = "ana.garcia@correo.es"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


async def _clinic(
    container: Container, *, provider: str = "smtp", settings: dict[str, Any] | None = None
) -> str:
    doc = demo_document("clinica-dental-sonrisa")
    doc.channels = [c for c in doc.channels if c.kind != "email"]
    doc.channels.append(
        ChannelConfig(
            name="correo", kind="email", provider=provider, address="Recepcion@Sonrisa.es",
            secret=SECRET, settings=settings or {},
        )
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(
            select(ChannelAccount)
            .join(Tenant, Tenant.id == ChannelAccount.tenant_id)
            .where(ChannelAccount.kind == "email", Tenant.slug == doc.tenant.slug)
        )
        assert account is not None and account.enabled
    return account.id


async def _messages(container: Container, **where: Any) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.created_at, Message.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await session.scalars(stmt)).all())


async def _post(
    client: httpx.AsyncClient, account_id: str, raw: bytes, secret: str | None = SECRET
) -> httpx.Response:
    headers = {"Content-Type": "message/rfc822"}
    if secret is not None:
        headers["X-Centralita-Signature"] = sign(secret, raw)
    return await client.post(f"/hooks/{account_id}", content=raw, headers=headers)


def _smtp(port: int, **more: Any) -> dict[str, Any]:
    """Send through a local server: no TLS on loopback."""
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **more}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def receiver(container: Container) -> AsyncIterator[SmtpReceiver]:
    smtp = SmtpReceiver(container)
    await smtp.start("127.0.0.1", 0)
    try:
        yield smtp
    finally:
        await smtp.stop()


class Catcher:
    """A local SMTP server that keeps what our replies look like on the wire."""

    def __init__(self, directory: Path, port: int) -> None:
        self.mailbox = Mailbox(directory)
        self.port = port

    def mails(self) -> list[email.message.Message]:
        paths = sorted(self.mailbox.directory.glob("*.eml"))
        return [email.message_from_bytes(p.read_bytes()) for p in paths]


@pytest.fixture
async def catcher(tmp_path: Path) -> AsyncIterator[Catcher]:
    controller, port = await start_mail_catcher(tmp_path / "sent")
    try:
        yield Catcher(tmp_path / "sent", port)
    finally:
        await asyncio.to_thread(controller.stop)


async def _smtp_send(port: int, raw: bytes, *, sender: str = ANA, to: str = OURS) -> str:
    _, answer = await aiosmtplib.send(
        raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, timeout=60
    )
    return answer


def _reply_to(sent: email.message.Message, *, text: str, message_id: str) -> bytes:
    """What the customer's mail client sends when Ana answers our reply."""
    mail = EmailMessage()
    mail["From"] = f"Ana García <{ANA}>"
    mail["To"] = OURS
    mail["Subject"] = f"Re: {sent['Subject']}"
    mail["Message-ID"] = f"<{message_id}>"
    mail["In-Reply-To"] = sent["Message-ID"]
    mail["References"] = f"{sent['References']} {sent['Message-ID']}"
    ours = sent.get_payload(decode=True).decode("utf-8")
    quoted = "\n".join(f"> {line}" for line in ours.splitlines())
    mail.set_content(f"{text}\n\nEl jue, 26 nov 2026, Clínica escribió:\n{quoted}")
    return mail.as_bytes()


# ---- SMTP in, SMTP out, threading ----------------------------------------------------------


async def test_mail_through_the_smtp_receiver_is_answered_in_its_thread(
    container: Container, receiver: SmtpReceiver, catcher: Catcher
) -> None:
    await _clinic(container, settings=_smtp(catcher.port, display_name="Clínica"))
    answer = await _smtp_send(receiver.port, fixture("plain"))
    assert answer == "2.0.0 OK: stored"
    [inbound] = await _messages(container, direction="inbound")
    assert inbound.channel == "email" and inbound.kind == "text"
    assert inbound.provider_message_id == "CAplain.0001@mail.correo.es"
    assert inbound.body.startswith("Hola, quería pedir cita") and "Tel." not in inbound.body
    assert inbound.meta["full_text"].endswith("Tel. 600 111 222")
    assert inbound.meta["subject"] == "Cita para limpieza" and inbound.meta["from"] == ANA

    await container.relay.drain()
    [sent] = catcher.mails()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "sent", reply.delivery_error
    assert sent["Message-ID"] == f"<{reply.provider_message_id}>"
    assert sent["In-Reply-To"] == "<CAplain.0001@mail.correo.es>"
    assert sent["References"] == "<CAplain.0001@mail.correo.es>"
    assert sent["Subject"] == "Re: Cita para limpieza"
    assert sent["To"] == ANA
    assert str(make_header(decode_header(sent["From"]))) == "Clínica <Recepcion@Sonrisa.es>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent.get_payload(decode=True).decode("utf-8").strip() == reply.body.strip()

    # Ana answers our reply: the same thread, the same interaction
    raw = _reply_to(sent, text="El martes a las 17:00, por favor.", message_id="ana.2@correo.es")
    assert (await _smtp_send(receiver.port, raw)).endswith("OK: stored")
    first, second = await _messages(container, direction="inbound")
    assert second.provider_message_id == "ana.2@correo.es"
    assert second.body == "El martes a las 17:00, por favor."
    assert second.interaction_id == first.interaction_id == reply.interaction_id
    assert second.conversation_id == first.conversation_id

    # the next reply threads under Ana's latest mail, with the whole chain
    await container.relay.drain()
    latest = catcher.mails()[-1]
    assert latest["In-Reply-To"] == "<ana.2@correo.es>"
    chain = " ".join(latest["References"].split())  # unfolded
    assert chain == f"<CAplain.0001@mail.correo.es> {sent['Message-ID']} <ana.2@correo.es>"
    assert latest["Subject"] == "Re: Cita para limpieza"


async def test_recipients_are_checked_and_bad_mail_is_refused(
    container: Container, receiver: SmtpReceiver
) -> None:
    await _clinic(container)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _smtp_send(receiver.port, fixture("plain"), to="nadie@sonrisa.es")
    assert refused.value.recipients[0].code == 550
    assert "5.1.1" in refused.value.recipients[0].message
    with pytest.raises(aiosmtplib.SMTPDataError) as bad:
        await _smtp_send(receiver.port, fixture("malformed"))
    assert bad.value.code == 550 and bad.value.message.startswith("5.6.0")
    assert "boundary" in bad.value.message
    assert await _messages(container) == []
    # the address matches whatever its letter case
    assert await _smtp_send(receiver.port, fixture("plain"), to="RECEPCION@sonrisa.ES")


async def test_a_mail_over_the_size_limit_gets_552(container: Container) -> None:
    await _clinic(container)
    small = SmtpReceiver(container, max_bytes=50_000)
    await small.start("127.0.0.1", 0)
    try:
        big = fixture("plain").replace(b"Gracias,", b"x" * 60_000)
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
            await _smtp_send(small.port, big)
        assert too_big.value.code == 552
    finally:
        await small.stop()
    assert await _messages(container) == []


async def test_a_25_mb_attachment_keeps_the_message_and_says_why_the_file_is_missing(
    container: Container, receiver: SmtpReceiver
) -> None:
    await _clinic(container)
    mail = EmailMessage()
    mail["From"] = ANA
    mail["To"] = OURS
    mail["Subject"] = "Radiografías"
    mail["Message-ID"] = "<big.0001@correo.es>"
    mail.set_content("Os mando las radiografías.")
    mail.add_attachment(b"x" * (25 * 1024 * 1024 + 1), maintype="application",
                        subtype="octet-stream", filename="enorme.bin")  # fmt: skip
    mail.add_attachment(b"small file", maintype="text", subtype="plain", filename="nota.txt")
    assert (await _smtp_send(receiver.port, mail.as_bytes())).endswith("OK: stored")
    [message] = await _messages(container)
    assert message.body == "Os mando las radiografías."
    big, small = message.meta["attachments"]
    assert big["filename"] == "enorme.bin" and big["size"] == 25 * 1024 * 1024 + 1
    assert "at most" in big["error"] and "key" not in big
    assert small["filename"] == "nota.txt" and small["size"] == 10
    assert container.blobs.read(message.tenant_id, small["key"]) == b"small file"


async def test_a_storage_failure_answers_451_and_the_retry_is_stored_once(
    container: Container, receiver: SmtpReceiver, tmp_path: Path
) -> None:
    await _clinic(container)
    working = container.blobs
    broken = tmp_path / "not-a-directory"
    broken.write_bytes(b"")
    container.blobs = BlobStore(broken)  # the disk refuses: mkdir under a file fails
    with pytest.raises(aiosmtplib.SMTPDataError) as later:
        await _smtp_send(receiver.port, fixture("attachment"))
    assert later.value.code == 451 and later.value.message.startswith("4.3.0")
    assert await _messages(container) == []  # nothing half-stored
    container.blobs = working  # the sending server tries again later
    assert (await _smtp_send(receiver.port, fixture("attachment"))).endswith("OK: stored")
    assert (await _smtp_send(receiver.port, fixture("attachment"))).endswith("OK: stored")
    [message] = await _messages(container)
    assert message.meta["attachments"][0]["filename"] == "informe dental ñ.pdf"


async def test_container_starts_the_receiver_for_serve(container: Container) -> None:
    from centralita.bootstrap import build_container

    port = _free_port()
    settings = container.settings.model_copy(update={"smtp_receiver_port": port})
    served = build_container(settings, run_workers=False, subscribe=False)
    served.serve_smtp = True
    await served.start()
    try:
        await _clinic(served)
        assert (await _smtp_send(port, fixture("plain"))).endswith("OK: stored")
    finally:
        await served.stop()
    assert not _reachable("127.0.0.1", port)
    assert len(await _messages(container)) == 1


# ---- the hook a relay posts raw MIME to ----------------------------------------------------


async def test_the_hook_takes_signed_mime_once_and_refuses_the_rest(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    raw = fixture("attachment")
    assert (await _post(client, account_id, raw, secret="wrong")).status_code == 403
    assert (await _post(client, account_id, raw, secret=None)).status_code == 403
    assert await _messages(container) == []
    assert not list(container.blobs.root.glob("*/*/*"))  # no file written either
    r = await _post(client, account_id, raw)
    assert r.status_code == 200 and r.json() == {"stored": 1}
    assert (await _post(client, account_id, raw)).status_code == 200  # a redelivery
    [message] = await _messages(container)
    assert message.provider_message_id == "attach.0008@correo.es"
    [pdf] = message.meta["attachments"]
    assert pdf["filename"] == "informe dental ñ.pdf" and pdf["size"] == 286

    async with container.sessions() as session, session.begin():
        issued = await access_service.create_api_key(
            session, tenant_id=message.tenant_id, name="tests", role="admin"
        )
    headers = {"Authorization": f"Bearer {issued.secret}"}
    got = await client.get(f"/api/v1/messages/{message.id}/files/{pdf['key']}", headers=headers)
    assert got.status_code == 200 and got.content.startswith(b"%PDF-1.4")

    bad = await _post(client, account_id, fixture("malformed"))
    assert bad.status_code == 400 and "boundary" in bad.text
    assert len(await _messages(container)) == 1


async def test_non_utf8_mail_is_read_and_a_missing_message_id_is_still_idempotent(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    for name in ("latin1_undeclared", "windows1252", "missing_message_id", "missing_message_id"):
        assert (await _post(client, account_id, fixture(name))).status_code == 200
    latin1, cp1252, no_id = await _messages(container)
    assert latin1.body.startswith("Buenos días, ¿podrían darme cita mañana?")
    assert cp1252.body == "“Hola”, ¿el blanqueamiento cuesta 200€? Gracias — Laura"
    assert no_id.provider_message_id is not None
    assert no_id.provider_message_id.startswith("sha256:")
    assert len({m.conversation_id for m in (latin1, cp1252, no_id)}) == 3  # three people


async def test_auto_replies_and_bounces_are_stored_but_never_answered(
    container: Container, client: httpx.AsyncClient, catcher: Catcher
) -> None:
    account_id = await _clinic(container, settings=_smtp(catcher.port))
    for name in ("auto_reply", "bounce"):
        assert (await _post(client, account_id, fixture(name))).status_code == 200
    await container.relay.drain()
    rows = await _messages(container)
    assert [(m.kind, m.meta["automatic"]) for m in rows] == [
        ("event", "auto_reply"), ("event", "bounce")
    ]  # fmt: skip
    assert catcher.mails() == [] and await _messages(container, direction="outbound") == []


# ---- delivery failures -----------------------------------------------------------------------


async def test_an_smtp_outage_is_retried_then_fails_visibly_in_the_api(
    container: Container, client: httpx.AsyncClient
) -> None:
    from centralita.conversations.handlers import MAX_DELIVERY_ATTEMPTS

    closed = _free_port()  # nothing listens there: connection refused, every time
    account_id = await _clinic(container, settings=_smtp(closed))
    assert (await _post(client, account_id, fixture("plain"))).status_code == 200
    for hours in range(1, MAX_DELIVERY_ATTEMPTS + 3):
        container.relay._clock = lambda h=hours: utcnow() + timedelta(hours=h)  # type: ignore[method-assign]
        await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.meta["delivery_attempts"] == MAX_DELIVERY_ATTEMPTS
    async with container.sessions() as session, session.begin():
        issued = await access_service.create_api_key(
            session, tenant_id=reply.tenant_id, name="tests", role="admin"
        )
    page = await client.get(
        f"/api/v1/conversations/{reply.conversation_id}/messages",
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    [shown] = [m for m in page.json()["items"] if m["direction"] == "outbound"]
    assert shown["delivery_status"] == "failed"
    assert shown["delivery_error"].startswith(f"gave up after {MAX_DELIVERY_ATTEMPTS} attempts")
    assert "TransientSendError" in shown["delivery_error"]


class _Refusing:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:  # fmt: skip
        return "550 5.1.1 <ana.garcia@correo.es>: Recipient address rejected"


@pytest.fixture
def refusing_server() -> Iterator[int]:
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=_free_port(),
                            server_hostname="refuser")  # fmt: skip
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


async def test_a_permanent_smtp_refusal_fails_at_once(
    container: Container, client: httpx.AsyncClient, refusing_server: int
) -> None:
    account_id = await _clinic(container, settings=_smtp(refusing_server))
    assert (await _post(client, account_id, fixture("plain"))).status_code == 200
    await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "failed", reply.meta
    assert reply.delivery_error is not None and reply.delivery_error.startswith("SMTP 550")
    assert "delivery_attempts" not in reply.meta


# ---- the tenant file -----------------------------------------------------------------------


def test_email_accounts_in_the_tenant_file_are_checked() -> None:
    from centralita.tenants.config.checks import check_document

    doc = demo_document("clinica-dental-sonrisa")
    doc.channels.append(
        ChannelConfig(name="m1", kind="email", provider="smtp", address="no-es-un-correo",
                      settings={"smtp_port": 0, "smtp_starttls": "yes"})
    )  # fmt: skip
    doc.channels.append(
        ChannelConfig(name="m2", kind="sms", provider="imap", address=OURS, secret="x",
                      settings={"imap_password_env": "lower-case"})
    )  # fmt: skip
    problems = {loc: message for loc, message in check_document(doc)}
    one, two = len(doc.channels) - 2, len(doc.channels) - 1
    assert "email address" in problems[("channels", one, "address")]
    assert "port number" in problems[("channels", one, "settings", "smtp_port")]
    assert "true or false" in problems[("channels", one, "settings", "smtp_starttls")]
    assert "signs each mail" in problems[("channels", one, "secret_env")]
    assert "serve email" in problems[("channels", two, "kind")]
    assert "required" in problems[("channels", two, "settings", "imap_host")]
    assert "variable name" in problems[("channels", two, "settings", "imap_password_env")]


async def test_nothing_is_written_for_an_unknown_account(client: httpx.AsyncClient) -> None:
    r = await _post(client, "chn_doesnotexist", fixture("plain"))
    assert r.status_code == 404


async def test_outbox_events_for_a_stored_mail(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    await _post(client, account_id, fixture("plain"))
    async with container.sessions() as session:
        names = [e.name for e in await session.scalars(select(OutboxEvent))]
        interactions = list(await session.scalars(select(Interaction)))
    assert "message.received" in names and "interaction.started" in names
    assert len(interactions) == 1 and interactions[0].channel == "email"


# ---- threading: an email thread is one interaction ----------------------------------------

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _mail(
    message_id: str,
    subject: str,
    *,
    sender: str = ANA,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    text: str = "Hola, quería una cita.",
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = OURS
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    mail.set_content(text)
    return mail.as_bytes()


async def _receive(
    container: Container, account_id: str, raw: bytes, now: datetime
) -> ReceiveResult:
    async with container.sessions() as session, session.begin():
        target = await channels_service.get_for_ingress(session, account_id=account_id)
        config = channels_service.to_config(target.account)
        request = HttpInbound("POST", "u", {"x-centralita-signature": sign(SECRET, raw)}, raw)
        [inbound] = EmailAdapter("smtp").parse(request, config).messages
        return await conversations_service.receive_inbound(
            session, account=config, inbound=inbound, reopen_window=timedelta(hours=72), now=now
        )


async def _our_reply(container: Container, to: ReceiveResult, message_id: str) -> Message:
    """The receptionist's reply as delivery leaves it: sent, with our Message-ID as its id."""
    async with container.sessions() as session, session.begin():
        message = await conversations_outbound.add_message(
            session, tenant_id=to.message.tenant_id, conversation_id=to.conversation.id,
            body="Tenemos hueco el martes.", author_type="bot", channel="email",
        )  # fmt: skip
        await conversations_outbound.set_delivery_status(
            session, message=message, status="sent", provider_message_id=message_id
        )
    return message


async def test_unrelated_mails_with_one_subject_are_not_glued_together(
    container: Container,
) -> None:
    account_id = await _clinic(container)
    first = await _receive(container, account_id, _mail("a1@correo.es", "Cita"), T0)
    # the same words weeks later, not a reply: a new thread
    later = await _receive(
        container, account_id, _mail("a2@correo.es", "Cita"), T0 + timedelta(days=21)
    )
    # and a new matter while the first thread is open: a new thread too
    other = await _receive(
        container,
        account_id,
        _mail("a3@correo.es", "Presupuesto"),
        T0 + timedelta(days=21, hours=1),
    )
    assert len({first.interaction.id, later.interaction.id, other.interaction.id}) == 3
    # the conversation still follows the per-contact rule: one open conversation
    assert first.conversation.id == later.conversation.id == other.conversation.id
    assert first.conversation.subject == "Cita"  # a new conversation takes the first subject


async def test_a_reply_to_our_reply_joins_its_interaction_by_message_id(
    container: Container,
) -> None:
    account_id = await _clinic(container)
    first = await _receive(container, account_id, _mail("b1@correo.es", "Cita"), T0)
    ours = await _our_reply(container, first, "our.b1@sonrisa.es")
    assert ours.interaction_id == first.interaction.id
    # another thread in between must not catch the reply
    await _receive(container, account_id, _mail("b2@correo.es", "Factura"), T0 + timedelta(hours=1))
    reply = _mail("b3@correo.es", "Otra cosa", in_reply_to="our.b1@sonrisa.es",
                  references=("b1@correo.es", "our.b1@sonrisa.es"))  # fmt: skip
    joined = await _receive(container, account_id, reply, T0 + timedelta(hours=2))
    assert joined.interaction.id == first.interaction.id
    # the references of a later mail can name the customer's own first mail, too
    again = _mail("b4@correo.es", "Re: Cita", references=("b1@correo.es",))
    assert (await _receive(container, account_id, again, T0 + timedelta(hours=3))).interaction.id \
        == first.interaction.id  # fmt: skip


async def test_a_reply_to_a_closed_thread_reopens_its_conversation(container: Container) -> None:
    account_id = await _clinic(container)
    first = await _receive(container, account_id, _mail("c1@correo.es", "Cita"), T0)
    await _our_reply(container, first, "our.c1@sonrisa.es")
    async with container.sessions() as session, session.begin():
        await conversations_service.update_conversation(
            session, tenant_id=first.message.tenant_id, conversation_id=first.conversation.id,
            status="closed", now=T0 + timedelta(hours=1),
        )  # fmt: skip
    # an out-of-office answer to our reply is filed in the thread and reopens nothing
    ooo = _mail("c0@correo.es", "Automatic reply: Re: Cita", in_reply_to="our.c1@sonrisa.es")
    ooo = ooo.replace(b"MIME-Version", b"Auto-Submitted: auto-replied\nMIME-Version")
    filed = await _receive(container, account_id, ooo, T0 + timedelta(hours=2))
    assert filed.message.kind == "event" and filed.interaction.id == first.interaction.id
    assert filed.conversation.status == "closed"
    reply = _mail("c2@correo.es", "Re: Cita", in_reply_to="our.c1@sonrisa.es")
    # twenty days later, far outside the reopen window, the thread still finds its home
    joined = await _receive(container, account_id, reply, T0 + timedelta(days=20))
    assert joined.conversation.id == first.conversation.id
    assert joined.conversation.status == "open" and not joined.conversation_created
    assert joined.interaction.id != first.interaction.id  # the old session had ended
    assert joined.interaction.conversation_id == first.conversation.id
    async with container.sessions() as session:
        names = [e.name for e in await session.scalars(select(OutboxEvent))]
    assert "conversation.reopened" in names


async def test_the_subject_fallback_is_careful(container: Container) -> None:
    account_id = await _clinic(container)
    first = await _receive(container, account_id, _mail("d1@correo.es", "Cita para revisión"), T0)
    # a client that drops In-Reply-To: "RE:" and the same subject, days later, joins
    lost = _mail("d2@correo.es", "RE: Cita para revisión")
    assert (await _receive(container, account_id, lost, T0 + timedelta(days=5))).interaction.id \
        == first.interaction.id  # fmt: skip
    # someone else with the same subject does not
    luis = _mail("d3@correo.es", "Re: Cita para revisión", sender="luis@correo.es")
    assert (await _receive(container, account_id, luis, T0 + timedelta(days=5))).interaction.id \
        != first.interaction.id  # fmt: skip
    # a generic subject never threads, nor does a reply after 30 days of silence
    hola1 = await _receive(
        container, account_id, _mail("d4@correo.es", "Hola"), T0 + timedelta(days=6)
    )
    hola2 = await _receive(
        container, account_id, _mail("d5@correo.es", "Re: Hola"), T0 + timedelta(days=6, hours=1)
    )
    assert hola1.interaction.id != hola2.interaction.id
    late = _mail("d6@correo.es", "Re: Cita para revisión")
    assert (await _receive(container, account_id, late, T0 + timedelta(days=40))).interaction.id \
        != first.interaction.id  # fmt: skip


async def test_another_tenants_thread_is_never_joined(container: Container) -> None:
    ours = await _clinic(container)
    theirs = await _clinic(container)
    first = await _receive(container, ours, _mail("e1@correo.es", "Cita"), T0)
    reply = _mail("e2@correo.es", "Re: Cita", in_reply_to="e1@correo.es")
    other = await _receive(container, theirs, reply, T0 + timedelta(hours=1))
    assert other.message.tenant_id != first.message.tenant_id
    assert other.conversation_created and other.conversation.id != first.conversation.id


# ---- IMAP polling ----------------------------------------------------------------------------

IMAP_USER = "recepcion@sonrisa.es"


def _imap_testing() -> ModuleType:
    """aioimaplib's test server module. It asks for the current event loop as it is imported,
    which fails outside one: import it only from inside a running loop."""
    from aioimaplib import imap_testing_server

    return imap_testing_server


class ImapServer:
    """aioimaplib's test server, with a UIDVALIDITY the test controls."""

    def __init__(self) -> None:
        self.its = _imap_testing()
        self.validity = 1_700_000_000
        self.mock = self.its.MockImapServer(loop=asyncio.get_running_loop())
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        def protocol() -> its.ImapProtocol:
            made = self.its.ImapProtocol(self.mock._server_state, 0, self.mock.capabilities,
                                    self.mock.loop)  # fmt: skip
            made.uidvalidity = self.validity
            return made

        self.server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def deliver(self, raw: bytes) -> int:
        [uid] = self.mock.receive(self.its.Mail(email.message_from_bytes(raw)), imap_user=IMAP_USER)
        return int(uid)

    def flags(self) -> dict[int, list[str]]:
        inbox = self.mock._server_state.mailboxes[IMAP_USER]["INBOX"]
        return {m.uid: list(m.flags) for m in inbox}


@pytest.fixture
async def imap(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[ImapServer, int]]:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "imap-password")
    server = ImapServer()
    port = await server.start()
    try:
        yield server, port
    finally:
        assert server.server is not None
        server.server.close()


def _imap_settings(port: int) -> dict[str, Any]:
    return {"imap_host": "127.0.0.1", "imap_port": port, "imap_ssl": False,
            "imap_username": IMAP_USER, "imap_password_env": "TEST_IMAP_PASSWORD"}  # fmt: skip


async def _state(container: Container, account_id: str) -> ImapMailboxState:
    async with container.sessions() as session:
        state = await session.get(ImapMailboxState, account_id)
        assert state is not None
        return state


async def test_imap_polling_reads_new_mail_once_and_skips_what_it_cannot_read(
    container: Container, imap: tuple[ImapServer, int]
) -> None:
    server, port = imap
    account_id = await _clinic(container, provider="imap", settings=_imap_settings(port))
    for name in ("plain", "malformed", "windows1252"):
        server.deliver(fixture(name))
    poller = ImapPoller(container)
    [result] = (await poller.poll_all()).values()
    assert (result.stored, result.skipped, result.error) == (2, 1, None)
    rows = await _messages(container)
    assert [m.provider_message_id for m in rows] == ["CAplain.0001@mail.correo.es",
                                                    "cp1252.0007@correo.es"]  # fmt: skip
    assert rows[1].body == "“Hola”, ¿el blanqueamiento cuesta 200€? Gracias — Laura"
    # read mail is flagged \Seen only once stored; the unreadable one is left for a person
    assert server.flags() == {1: ["\\Seen"], 2: [], 3: ["\\Seen"]}
    state = await _state(container, account_id)
    assert (state.last_uid, state.skipped, state.uidvalidity) == (3, 1, server.validity)
    assert state.lease_until is None and "UID 2" in (state.last_error or "")

    server.deliver(fixture("gmail_reply_en"))
    [result] = (await poller.poll_all()).values()
    assert (result.stored, result.skipped) == (1, 0)  # only the new one
    [result] = (await poller.poll_all()).values()
    assert (result.stored, result.skipped) == (0, 0)
    assert len(await _messages(container)) == 3

    # the server renumbered its UIDs: everything is read again, nothing is stored twice
    server.validity += 1
    [result] = (await poller.poll_all()).values()
    assert (result.stored, result.skipped) == (3, 1)
    assert len(await _messages(container)) == 3
    assert (await _state(container, account_id)).last_uid == 4


async def test_an_unreachable_imap_server_is_reported_and_the_mailbox_released(
    container: Container,
) -> None:
    account_id = await _clinic(container, provider="imap", settings=_imap_settings(_free_port()))
    [result] = (await ImapPoller(container).poll_all()).values()
    assert result.error is not None and result.stored == 0
    state = await _state(container, account_id)
    assert state.lease_until is None and state.last_uid == 0 and state.last_error == result.error
