"""Raw mail into plain data: recorded fixtures of what real clients send, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from centralita.channels.base import AccountConfig, HttpInbound, MalformedRequest, OutboundMessage
from centralita.channels.base import Address as Addr
from centralita.channels.email.adapter import EmailAdapter, provider_id, sign
from centralita.channels.email.html_text import html_to_text
from centralita.channels.email.mime import MalformedMail, decode_bytes, parse_mail
from centralita.channels.email.quotes import strip_quoted
from centralita.core.subjects import (
    is_trivial,
    looks_like_reply,
    normalise_subject,
    reply_subject,
)

FIXTURES = Path(__file__).parent / "fixtures" / "email"
ACCOUNT = AccountConfig(
    id="chn_mail", tenant_id="tn_1", kind="email", provider="smtp",
    address="recepcion@sonrisa.es", secret="mail-secret",
)  # fmt: skip


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def test_plain_mail_from_name_ids_and_signature() -> None:
    mail = parse_mail(raw("plain"))
    assert (mail.from_name, mail.from_address) == ("Ana García", "Ana.Garcia@Correo.es")
    assert mail.to == ("recepcion@sonrisa.es",) and mail.cc == ("luis@correo.es",)
    assert mail.subject == "Cita para limpieza"
    assert mail.message_id == "CAplain.0001@mail.correo.es"
    assert mail.date is not None and mail.date.isoformat() == "2026-11-24T10:15:00+01:00"
    assert mail.reply == (
        "Hola, quería pedir cita para una limpieza la semana que viene.\n"
        "¿Tenéis hueco el martes por la tarde?\n\nGracias,\nAna"
    )
    assert mail.text.endswith("-- \nAna García\nTel. 600 111 222")  # the full text keeps it
    assert not mail.html and mail.attachments == () and mail.automatic is None


def test_html_only_mail_becomes_readable_text() -> None:
    mail = parse_mail(raw("html_only"))
    assert mail.html
    assert mail.text == (
        "Hello,\n\nWhat are your opening hours on Saturday? See & check our map "
        "(https://example.com/map).\n\n- Parking?\n- Wheelchair access?\n\n"
        "Thanks — John\nCafé owner"
    )
    assert "alert" not in mail.text and "color" not in mail.text and "ignored" not in mail.text


def test_multipart_alternative_prefers_the_plain_part() -> None:
    mail = parse_mail(raw("alternative"))
    assert mail.text == "Buenos días, ¿cuánto cuesta la ortodoncia invisible?" and not mail.html


def test_outlook_reply_in_spanish_keeps_only_the_new_words() -> None:
    mail = parse_mail(raw("outlook_reply_es"))
    assert mail.from_name == "Pedro López" and mail.subject == "RE: Cita para revisión"
    assert mail.reply == "Perfecto, el jueves a las 10:00 me va bien. Confirmo la cita.\n\n" \
        "Saludos,\nPedro"  # fmt: skip
    assert "Enviado: miércoles" in mail.text and "¿Le va bien?" in mail.text
    assert mail.in_reply_to == ("reply.ours.0001@sonrisa.es",)
    assert mail.references == ("orig.0001@empresa.es", "reply.ours.0001@sonrisa.es")


def test_gmail_reply_in_english_drops_the_wrapped_attribution_and_quote() -> None:
    mail = parse_mail(raw("gmail_reply_en"))
    assert mail.reply == "Friday at 9 works for me, thanks!"
    assert "> Hi Emily" in mail.text


def test_gmail_html_quote_is_left_out_of_the_reply() -> None:
    html = (
        '<div dir="ltr">Sí, el viernes me va bien</div><div class="gmail_quote">'
        '<div class="gmail_attr">El mié, 25 nov 2026 a las 18:02, Clínica &lt;'
        '<a href="mailto:r@sonrisa.es">r@sonrisa.es</a>&gt; escribió:</div>'
        "<blockquote>¿Le va bien el viernes?</blockquote></div>"
    )
    converted = html_to_text(html)
    assert converted.reply == "Sí, el viernes me va bien"
    assert "¿Le va bien el viernes?" in converted.full


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Vale, gracias\n\nEl 25/11/2026, Clínica escribió:\n> ¿Le va bien?", "Vale, gracias"),
        ("OK\n\n-----Original Message-----\nFrom: x\nSent: y\n\nold", "OK"),
        ("Sí\n\n-----Mensaje original-----\nDe: x\n\nviejo", "Sí"),
        ("Sí\nDe: Clínica <r@s.es>\nEnviado: hoy\nPara: yo\nAsunto: Re: x\n\nviejo", "Sí"),
        ("From: me\nthis is not a header block", "From: me\nthis is not a header block"),
        ("On Monday, Ana wrote:\n> question?\n\nMy answer below.", "My answer below."),
        ("> only a quote\n> nothing new", "> only a quote\n> nothing new"),
        ("Gracias\n--\nAna\n600 111 222", "Gracias"),
    ],
)  # fmt: skip
def test_quoted_reply_stripping(text: str, reply: str) -> None:
    assert strip_quoted(text) == reply


def test_latin1_without_charset_and_8bit_headers() -> None:
    mail = parse_mail(raw("latin1_undeclared"))
    assert mail.from_name == "José Muñoz" and mail.subject == "Cita mañana"
    assert mail.text == "Buenos días, ¿podrían darme cita mañana? Me duele una muela.\nJosé"


def test_windows_1252_declared() -> None:
    mail = parse_mail(raw("windows1252"))
    assert mail.subject == "Presupuesto €"
    assert mail.text == "“Hola”, ¿el blanqueamiento cuesta 200€? Gracias — Laura"


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("añ".encode(), None, "añ"),
        ("añ".encode("latin-1"), None, "añ"),
        ("“x”".encode("cp1252"), "iso-8859-1", "“x”"),  # the usual lie: cp1252 sent as latin-1
        ("añ".encode(), "x-unknown-charset", "añ"),
        ("añ".encode("latin-1"), "utf-8", "añ"),  # a lying UTF-8 declaration
        (b"\x81\x8d", None, "\ufffd\ufffd"),  # bytes no charset explains: replaced, no crash
    ],
)
def test_decode_bytes_never_raises(data: bytes, charset: str | None, text: str) -> None:
    assert decode_bytes(data, charset) == text


def test_attachment_with_an_rfc2231_filename() -> None:
    mail = parse_mail(raw("attachment"))
    [pdf] = mail.attachments
    assert pdf.filename == "informe dental ñ.pdf" and pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.4") and len(pdf.data) == 286
    assert mail.text == "Os adjunto el informe."


def test_inline_image_is_an_attachment_and_the_text_is_the_plain_part() -> None:
    mail = parse_mail(raw("inline_image"))
    [image] = mail.attachments
    assert image.content_type == "image/png" and image.data.startswith(b"\x89PNG")
    assert mail.text == "See the photo below. [image: photo.png]"


def test_malformed_mime_is_refused_with_the_reason() -> None:
    with pytest.raises(MalformedMail, match="boundary"):
        parse_mail(raw("malformed"))
    for junk in (b"", b"   \r\n", b"just some bytes\r\n", b"Subject: no sender\r\n\r\nhola"):
        with pytest.raises(MalformedMail):
            parse_mail(junk)


def test_missing_message_id_gets_the_hash_of_the_bytes() -> None:
    data = raw("missing_message_id")
    assert parse_mail(data).message_id is None
    request = HttpInbound("POST", "http://x", {"x-centralita-signature": sign("s", data)}, data)
    [message] = EmailAdapter("smtp").parse(request, ACCOUNT).messages
    assert message.provider_message_id == provider_id(None, data)
    assert (
        message.provider_message_id.startswith("sha256:") and len(message.provider_message_id) == 71
    )
    assert provider_id("x" * 300).startswith("sha256:") and provider_id("a@b") == "a@b"


def test_auto_replies_bounces_and_our_own_mail_are_events() -> None:
    adapter = EmailAdapter("smtp")

    def parsed(data: bytes):  # type: ignore[no-untyped-def]
        request = HttpInbound("POST", "http://x", {}, data)
        return adapter.parse(request, ACCOUNT).messages[0]

    auto = parsed(raw("auto_reply"))
    assert auto.kind == "event" and auto.metadata["automatic"] == "auto_reply"
    bounce = parsed(raw("bounce"))
    assert bounce.kind == "event" and bounce.metadata["automatic"] == "bounce"
    assert [a.content_type for a in bounce.attachments] == ["message/rfc822"]
    loop = raw("plain").replace(b"Ana.Garcia@Correo.es", b"Recepcion@Sonrisa.es")
    assert parsed(loop).kind == "event" and parsed(loop).metadata["automatic"] == "own_address"
    person = parsed(raw("plain"))
    assert person.kind == "text" and "automatic" not in person.metadata
    precedence = raw("plain").replace(b"MIME-Version", b"Precedence: bulk\r\nMIME-Version")
    assert parsed(precedence).kind == "event"
    said_no = raw("plain").replace(b"MIME-Version", b"Auto-Submitted: no\r\nMIME-Version")
    assert parsed(said_no).kind == "text"


def test_the_adapter_builds_a_provider_neutral_message() -> None:
    data = raw("outlook_reply_es")
    request = HttpInbound("POST", "http://x", {"x-centralita-signature": sign("s", data)}, data)
    [message] = EmailAdapter("smtp").parse(request, ACCOUNT).messages
    assert message.provider_message_id == "AM0PR01MB0001@eurprd01.prod.outlook.com"
    assert message.sender == Addr("email", "pedro.lopez@empresa.es")
    assert message.sender_name == "Pedro López" and message.subject == "RE: Cita para revisión"
    assert message.text.startswith("Perfecto, el jueves") and "Enviado" not in message.text
    # In-Reply-To first, then References newest first
    assert message.references == ("reply.ours.0001@sonrisa.es", "orig.0001@empresa.es")
    assert message.metadata["full_text"].endswith("¿Le va bien?")
    assert message.metadata["from"] == "pedro.lopez@empresa.es"
    assert message.metadata["html"] is False and message.kind == "text"


def test_the_signature_is_checked() -> None:
    from centralita.channels.base import SignatureError

    data = raw("plain")
    adapter = EmailAdapter("smtp")
    good = HttpInbound("POST", "u", {"x-centralita-signature": sign("mail-secret", data)}, data)
    adapter.verify(good, ACCOUNT)
    for headers in ({}, {"x-centralita-signature": sign("other", data)}):
        with pytest.raises(SignatureError):
            adapter.verify(HttpInbound("POST", "u", headers, data), ACCOUNT)
    with pytest.raises(SignatureError):  # an account without a secret takes nothing
        adapter.verify(good, AccountConfig(**{**ACCOUNT.__dict__, "secret": ""}))
    with pytest.raises(MalformedRequest):
        adapter.parse(HttpInbound("POST", "u", {}, raw("malformed")), ACCOUNT)


def test_outbound_headers_thread_under_the_customers_mail() -> None:
    from datetime import UTC, datetime

    out = OutboundMessage(
        "msg_1", Addr("email", "pedro.lopez@empresa.es"), "Le esperamos el jueves.",
        {"in_reply_to": "AM0PR01MB0001@x", "references": ["orig.0001@empresa.es",
         "reply.ours.0001@sonrisa.es"], "subject": "RE: Re: Cita", "auto_submitted": True},
    )  # fmt: skip
    account = AccountConfig(**{**ACCOUNT.__dict__, "settings": {"display_name": "Clínica"}})
    mail = EmailAdapter("smtp").build(out, account, datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert mail["Subject"] == "Re: Cita" and mail["To"] == "pedro.lopez@empresa.es"
    assert mail["From"] == "Clínica <recepcion@sonrisa.es>"
    assert mail["In-Reply-To"] == "<AM0PR01MB0001@x>"
    assert mail["References"] == (
        "<orig.0001@empresa.es> <reply.ours.0001@sonrisa.es> <AM0PR01MB0001@x>"
    )
    assert mail["Auto-Submitted"] == "auto-replied"
    assert str(mail["Message-ID"]).endswith("@sonrisa.es>")
    assert mail.get_content().strip() == "Le esperamos el jueves."


@pytest.mark.parametrize(
    ("subject", "normal", "reply", "trivial"),
    [
        ("Cita", "cita", False, False),
        ("RE: Cita", "cita", True, False),
        ("Re: RE: [Clínica] Fwd: Cita", "cita", True, False),
        ("RV: Presupuesto", "presupuesto", True, False),
        ("AW: Termin", "termin", True, False),
        ("Sv: Tid", "tid", True, False),
        ("Fwd: Cita", "cita", False, False),
        ("[Sonrisa] Re: Información", "informacion", True, True),
        ("Hola", "hola", False, True),
        ("Re: consulta", "consulta", True, True),
        ("", "", False, True),
        ("Recordatorio de cita", "recordatorio de cita", False, False),
    ],
)
def test_subject_rules(subject: str, normal: str, reply: bool, trivial: bool) -> None:
    assert normalise_subject(subject) == normal
    assert looks_like_reply(subject) is reply
    assert is_trivial(subject) is trivial


def test_reply_subject_never_stacks_prefixes() -> None:
    assert reply_subject("Cita") == "Re: Cita"
    assert reply_subject("RE: Re:  Cita") == "Re: Cita"
    assert reply_subject("RV: Cita") == "Re: Cita"
    assert reply_subject(None) == "Re:"
