"""The local mail catcher and the /mailbox page that shows what it caught."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.staff_messages.mailcatcher import Mailbox
from tests.conftest import Database, make_settings
from tests.factories import make_tenant
from tests.staff_messages.conftest import Catcher
from tests.web.forms import make_user, sign_in


async def _send(port: int, subject: str, body: str, to: str = "carmen@clinica.example") -> None:
    mail = EmailMessage()
    mail["From"] = "Centralita <avisos@clinica.example>"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    await aiosmtplib.send(mail, hostname="127.0.0.1", port=port, timeout=5)


async def test_the_catcher_stores_each_mail_as_an_eml_file(catcher: Catcher) -> None:
    await _send(catcher.port, "Primera", "Hola, Carmen.\nUna línea más.")
    await _send(catcher.port, "Segunda · ñ", "Segundo mensaje", to="ana@example.com")
    files = sorted(catcher.directory.glob("*.eml"))
    assert len(files) == 2
    assert b"Subject: Primera" in files[0].read_bytes()
    newest, oldest = catcher.mailbox.recent()
    assert (newest.subject, newest.to, newest.text.strip()) == (
        "Segunda · ñ",
        "ana@example.com",
        "Segundo mensaje",
    )
    assert oldest.text == "Hola, Carmen.\nUna línea más.\n"
    assert oldest.headers["X-Original-To"] == "carmen@clinica.example"
    assert catcher.mailbox.get(oldest.id) == oldest
    assert catcher.mailbox.get("../../etc/passwd") is None
    assert Mailbox(catcher.directory / "missing").recent() == []


async def test_mailbox_page_needs_a_signed_in_user(
    container: Container, client: httpx.AsyncClient, catcher: Catcher
) -> None:
    await _send(catcher.port, "Mensaje de Ana Ruiz", "Llame a Ana: https://example.com/ack/x?t=1")
    r = await client.get("/mailbox")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    mail_id = catcher.mailbox.ids()[0]
    r = await client.get(f"/mailbox/{mail_id}")
    assert r.status_code == 303

    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert (await sign_in(client, kit.slug)).status_code == 303
    page = await client.get("/mailbox")
    assert page.status_code == 200
    assert "Mensaje de Ana Ruiz" in page.text and "carmen@clinica.example" in page.text
    assert f'href="/mailbox/{mail_id}"' in page.text
    one = await client.get(f"/mailbox/{mail_id}")
    assert one.status_code == 200
    assert "Llame a Ana" in one.text
    assert 'href="https://example.com/ack/x?t=1"' in one.text  # links can be clicked
    assert (await client.get("/mailbox/00000000000000000000-deadbeef")).status_code == 404
    assert (await client.get("/mailbox/..%2F..%2Fetc")).status_code == 404


async def test_mailbox_is_off_without_a_directory(database: Database, tmp_path: Path) -> None:
    container = build_container(make_settings(database, tmp_path), run_workers=False)
    await container.start()
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/mailbox")).status_code == 404
    finally:
        await container.stop()
