"""Web pages of staff messages: the acknowledge link, and the demo's local mailbox.

The acknowledge link needs no login: its signed token is the authority. A GET only shows the
message (mail scanners and chat link previews fetch links), the button POSTs it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response

from centralita.api.deps import ContainerDep
from centralita.bootstrap import Container
from centralita.core.clock import utcnow
from centralita.staff_messages import service as staff_messages_service
from centralita.staff_messages.directory import labels as message_labels
from centralita.staff_messages.mailcatcher import Mailbox
from centralita.staff_messages.models import StaffMessage
from centralita.tenants import service as tenants_service
from centralita.web.deps import Signer, WebPrincipal
from centralita.web.i18n import pick_language
from centralita.web.rendering import page_language, redirect, render

router = APIRouter(include_in_schema=False)

LABELS: dict[str, dict[str, str]] = {
    "es": {
        "title": "Mensaje para el equipo",
        "for": "Para",
        "caller": "Quién llamó",
        "phone": "Teléfono",
        "email": "Correo",
        "reason": "Motivo",
        "urgency": "Urgencia",
        "taken_at": "Recibido",
        "summary": "Resumen",
        "transcript": "Transcripción",
        "unknown": "(no lo dijo)",
        "acknowledge": "Confirmar que lo he visto",
        "ack_hint": "Al confirmarlo, nadie más recibirá avisos por este mensaje.",
        "acknowledged": "Confirmado el {at}.",
        "done_title": "Mensaje confirmado",
        "done_body": "Gracias. Hemos anotado que el mensaje está visto.",
        "invalid_title": "Enlace no válido",
        "invalid_body": "Este enlace no es válido o ha caducado. Abra el mensaje en Centralita.",
        "mailbox_title": "Buzón local",
        "mailbox_lead": "Los correos que Centralita ha enviado en esta demo. No salen a "
        "Internet: los recibe un servidor SMTP local.",
        "mailbox_empty": "Aún no ha llegado ningún correo.",
        "from": "De",
        "to": "Para",
        "subject": "Asunto",
        "date": "Fecha",
        "back": "Volver al buzón",
        "no_subject": "(sin asunto)",
    },
    "en": {
        "title": "Message for the team",
        "for": "For",
        "caller": "Who called",
        "phone": "Phone",
        "email": "Email",
        "reason": "Reason",
        "urgency": "Urgency",
        "taken_at": "Taken",
        "summary": "Summary",
        "transcript": "Transcript",
        "unknown": "(not given)",
        "acknowledge": "Acknowledge: I have seen it",
        "ack_hint": "Once acknowledged, nobody else is chased about this message.",
        "acknowledged": "Acknowledged on {at}.",
        "done_title": "Message acknowledged",
        "done_body": "Thank you. The message is marked as seen.",
        "invalid_title": "Invalid link",
        "invalid_body": "This link is not valid or has expired. Open the message in Centralita.",
        "mailbox_title": "Local mailbox",
        "mailbox_lead": "The emails Centralita sent in this demo. They never leave this "
        "machine: a local SMTP server receives them.",
        "mailbox_empty": "No mail has arrived yet.",
        "from": "From",
        "to": "To",
        "subject": "Subject",
        "date": "Date",
        "back": "Back to the mailbox",
        "no_subject": "(no subject)",
    },
}


def _when(value: datetime | None, timezone: str, lang: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone or "UTC"))
    return local.strftime("%d/%m/%Y %H:%M" if lang == "es" else "%d %b %Y %H:%M")


def _invalid(request: Request) -> Response:
    lang = page_language(request)
    context = {"labels": LABELS[lang]}
    return render(request, "ack_invalid.html", context, lang=lang, status_code=404)


def _context(message: StaffMessage, tenant_name: str, timezone: str, lang: str) -> dict[str, Any]:
    return {
        "labels": LABELS[lang],
        "message": message,
        "business": tenant_name,
        "urgency": message_labels(lang).get(f"urgency_{message.urgency}", message.urgency),
        "taken_at": _when(message.created_at, timezone, lang),
        "acknowledged_at": _when(message.acknowledged_at, timezone, lang),
    }


@router.get("/ack/{message_id}")
async def ack_page(
    request: Request, message_id: str, container: ContainerDep, t: str = ""
) -> Response:
    """Show the message and the button; a GET never acknowledges."""
    secret = container.settings.secret_key.get_secret_value()
    if (
        staff_messages_service.verify_ack_token(secret, message_id, t, now=container.clock())
        is None
    ):
        return _invalid(request)
    async with container.sessions() as session:
        message = await staff_messages_service.get_message_for_link(session, message_id=message_id)
        if message is None:
            return _invalid(request)
        tenant = await tenants_service.get_tenant(session, tenant_id=message.tenant_id)
    lang = pick_language(request.query_params.get("lang"), message.language)
    context = {**_context(message, tenant.name, tenant.timezone, lang), "token": t}
    return render(request, "ack.html", context, lang=lang)


@router.post("/ack/{message_id}")
async def ack(request: Request, message_id: str, container: ContainerDep) -> Response:
    """Acknowledge with the link's token (a form field ``t``, or the query string)."""
    form = await request.form()
    token = form.get("t") or request.query_params.get("t") or ""
    token = token if isinstance(token, str) else ""
    secret = container.settings.secret_key.get_secret_value()
    staff_key = staff_messages_service.verify_ack_token(
        secret, message_id, token, now=container.clock()
    )
    if staff_key is None:
        return _invalid(request)
    async with container.sessions() as session, session.begin():
        message = await staff_messages_service.get_message_for_link(session, message_id=message_id)
        if message is None:
            return _invalid(request)
        tenant = await tenants_service.get_tenant(session, tenant_id=message.tenant_id)
        message = await staff_messages_service.acknowledge(
            session,
            tenant_id=message.tenant_id,
            message_id=message.id,
            actor=f"link:{staff_key}" if staff_key else "link",
            now=utcnow(),
        )
    lang = pick_language(request.query_params.get("lang"), message.language)
    return render(
        request, "ack_done.html", _context(message, tenant.name, tenant.timezone, lang), lang=lang
    )


# ---- the demo's mailbox ---------------------------------------------------------------------


def _mailbox(container: Container) -> Mailbox:
    directory = container.settings.mailbox_dir
    if directory is None:
        raise HTTPException(404, "the local mailbox is off (set CENTRALITA_MAILBOX_DIR)")
    return Mailbox(directory)


@router.get("/mailbox")
async def mailbox(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    box = _mailbox(container)
    if principal is None:
        return redirect(request, "/login")
    mails = await asyncio.to_thread(box.recent)
    lang = page_language(request)
    return render(request, "mailbox.html", {"labels": LABELS[lang], "mails": mails}, lang=lang)


@router.get("/mailbox/{mail_id}")
async def mailbox_mail(
    request: Request, mail_id: str, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    box = _mailbox(container)
    if principal is None:
        return redirect(request, "/login")
    mail = await asyncio.to_thread(box.get, mail_id)
    if mail is None:
        raise HTTPException(404, f"no mail {mail_id}")
    lang = page_language(request)
    return render(request, "mailbox_mail.html", {"labels": LABELS[lang], "mail": mail}, lang=lang)
