"""In the browser: a customer leaves a message for a named dentist on /simulator, the
receptionist takes it, and the e-mail it sent arrives in the local mail view (/mailbox),
with an acknowledge link that works. This is the demo's promise, against a real server with
workers on and a real SMTP catcher."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from centralita.staff_messages.mailcatcher import start_mail_catcher
from tests.web.test_browser import (
    LiveServer,
    _shot,
    sign_in_and_open_simulator,
    start_live_server,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def server_with_mail(tmp_path: Path) -> Iterator[LiveServer]:
    mail_dir = tmp_path / "mail"
    catcher, port = asyncio.run(start_mail_catcher(mail_dir))
    try:
        with start_live_server(
            tmp_path,
            mailbox_dir=mail_dir,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
        ) as server:
            yield server
    finally:
        catcher.stop()


def test_a_message_for_a_named_dentist_arrives_in_the_mail_view(
    server_with_mail: LiveServer, chromium: Browser
) -> None:
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="es-ES")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in_and_open_simulator(page, server_with_mail)
        page.click("label.channel-whatsapp")
        page.fill("#sim-address", "34612345678")
        page.fill("#sim-name", "Marta Gómez")
        # WhatsApp gives the profile name, so the receptionist only asks what it is about
        turns = [
            "Quiero dejar un recado para el doctor Ruiz",
            "Es sobre el presupuesto del implante, que me llame por favor",
        ]
        theirs = page.locator(".bubble.theirs")
        for text in turns:
            before = theirs.count()
            page.fill("#sim-text", text)
            page.click("#sim-send")
            expect(page.locator(".bubble.mine .body", has_text=text)).to_be_visible()
            # each turn is answered before the next is written
            page.wait_for_function(
                "n => document.querySelectorAll('.bubble.theirs').length > n", arg=before
            )
            if text == turns[0]:
                expect(theirs.last).to_contain_text("?")  # what is it about?
        taken = page.locator(".bubble.theirs", has_text="Le he dejado el recado")
        expect(taken).to_be_visible(timeout=30_000)
        _shot(page, "simulator-message-taken")

        # The receptionist's e-mail to Dr Ruiz, in the demo's local mail view.
        page.goto(server_with_mail.url + "/mailbox")
        row = page.locator("a", has_text="Marta Gómez").first
        expect(row).to_be_visible(timeout=30_000)
        row.click()
        page.wait_for_url("**/mailbox/*")
        body = page.locator("section.card")
        expect(body).to_contain_text("javier.ruiz@clinicadentalsonrisa.example")
        expect(body).to_contain_text("presupuesto del implante")
        expect(body).to_contain_text("+34612345678")
        _shot(page, "mailbox-message")

        # Its acknowledge link shows the message; only the button acknowledges.
        link = page.locator("a[href*='/ack/']").first
        href = link.get_attribute("href")
        assert href and "/ack/smsg_" in href
        page.goto(href)
        expect(page.locator("main")).to_contain_text("Marta Gómez")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        expect(page.locator("main")).to_contain_text("Marta Gómez")
        _shot(page, "ack-done")
        assert errors == []
    finally:
        context.close()
