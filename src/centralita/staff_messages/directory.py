"""Who a message is for, and the words it is sent in. Pure: no I/O, no clock.

Resolution order: an explicit staff key, a name or alias the caller said ("la doctora
García"), a role or skill word ("la higienista", "billing", "the conveyancing team"), the
first person who provides the service asked about, then the tenant's default recipient.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from centralita.core.text import fold as _fold
from centralita.receptionist.nlu.entities import staff_mentions
from centralita.tenants.config.schema import ServiceConfig, StaffConfig

# Words that say nothing about who is meant: articles, titles that many staff share, and
# "team"/"department" ("the conveyancing team" is about conveyancing).
_GENERIC_TEXT = """with your para alguien someone somebody whom general senior junior associate
    partner socio socia legal dental oral clinical medical medico medica team equipo department
    departamento area office oficina persona person people gente staff member hablar speak
    talk message mensaje recado call llamar llamada doctor doctora miss service services
    servicio servicios client clients cliente clientes manager managing"""
_GENERIC = frozenset(_GENERIC_TEXT.split())  # words shorter than 4 letters are dropped anyway

# Role and skill words callers use in either language, folded to one name per role.
_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        ["reception", "receptionist", "recepcion", "recepcionista", "frontdesk"], "reception"
    ),
    **dict.fromkeys(
        ["billing", "invoice", "invoices", "invoicing", "accounts", "facturacion", "factura"],
        "billing",
    ),
    **dict.fromkeys(["facturas", "cobros", "pagos", "payments"], "billing"),
    **dict.fromkeys(["hygienist", "hygiene", "higienista", "higiene"], "hygiene"),
    **dict.fromkeys(
        ["orthodontist", "orthodontics", "ortodoncista", "ortodoncia", "braces"], "orthodontics"
    ),
    **dict.fromkeys(
        ["dentist", "dentista", "odontologo", "odontologa", "odontologia"], "dentistry"
    ),
    **dict.fromkeys(
        ["implant", "implants", "implantes", "implantologo", "implantologia"], "implants"
    ),
    **dict.fromkeys(["surgeon", "surgery", "cirujano", "cirujana", "cirugia"], "surgery"),
    **dict.fromkeys(["insurance", "insurer", "seguros", "seguro", "aseguradora"], "insurance"),
    **dict.fromkeys(["conveyancing", "conveyancer", "conveyancers"], "conveyancing"),
    **dict.fromkeys(["employment", "laboral"], "employment"),
    **dict.fromkeys(["coordinator", "coordinadora", "coordinador"], "coordinator"),
    **dict.fromkeys(["secretary", "secretaria", "secretario"], "secretary"),
    **dict.fromkeys(["emergency", "emergencies", "urgencia", "urgencias"], "emergency"),
}


def _words(text: str) -> list[str]:
    """Meaningful words, folded and mapped to their role name; generic words dropped."""
    words = re.findall(r"[a-z0-9]+", _fold(text).replace("front desk", "frontdesk"))
    return [_SYNONYMS.get(w, w) for w in words if len(w) >= 4 and w not in _GENERIC]


def _same_word(a: str, b: str) -> bool:
    """Equal, or the same stem: receptionist/reception, ortodoncista/ortodoncia."""
    if a == b:
        return True
    shortest = min(len(a), len(b))
    if shortest < 5:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 5 and common >= shortest - 2


def _role_score(member: StaffConfig, wanted: Sequence[str]) -> float:
    """2 for a word of the job title, 1 + proficiency/10 for a skill; 0 for neither."""
    role_words = _words(member.role or "")
    skills = {w: level for skill, level in member.skills.items() for w in _words(skill)}
    best = 0.0
    for word in wanted:
        if any(_same_word(word, r) for r in role_words):
            best = max(best, 2.0)
        for skill, level in skills.items():
            if _same_word(word, skill):
                best = max(best, 1.0 + level / 10)
    return best


def by_key(staff: Sequence[StaffConfig], key: str | None) -> StaffConfig | None:
    if key is None:
        return None
    return next((m for m in staff if m.key == key), None)


_TITLE = re.compile(r"^(?:dr|dra|doctor|doctora|sr|sra|srta|mr|mrs|ms|miss)\.?\s+", re.I)


def _names(member: StaffConfig) -> list[str]:
    """The full name, the aliases, and given name plus first surname ("Paula Sanz" for
    "Paula Sanz Romero"), which is how people are usually asked for."""
    words = _TITLE.sub("", member.name.strip()).split()
    short = [" ".join(words[:2])] if len(words) > 2 else []
    return [member.name, *member.aliases, *short]


def by_mention(staff: Sequence[StaffConfig], text: str) -> StaffConfig | None:
    """The first person ``text`` names by name or alias (accents and titles ignored)."""
    keys = staff_mentions(text, {m.key: _names(m) for m in staff})
    return by_key(staff, keys[0]) if keys else None


def by_role(staff: Sequence[StaffConfig], text: str) -> StaffConfig | None:
    """The person whose job title (best) or skills match a word of ``text``; ties go to
    the one listed first."""
    wanted = _words(text)
    if not wanted:
        return None
    best: StaffConfig | None = None
    best_score = 0.0
    for member in staff:
        score = _role_score(member, wanted)
        if score > best_score:
            best, best_score = member, score
    return best


def by_service(
    staff: Sequence[StaffConfig], services: Sequence[ServiceConfig], service_key: str | None
) -> StaffConfig | None:
    service = next((s for s in services if s.key == service_key), None)
    if service is None:
        return None
    return next((m for k in service.staff if (m := by_key(staff, k)) is not None), None)


def resolve_recipient(
    staff: Sequence[StaffConfig],
    *,
    text: str | None = None,
    staff_key: str | None = None,
    service_key: str | None = None,
    services: Sequence[ServiceConfig] = (),
    default_key: str | None = None,
) -> StaffConfig | None:
    """The member of ``staff`` a message is for, or None when nothing points at anyone."""
    return (
        by_key(staff, staff_key)
        or (by_mention(staff, text) if text else None)
        or (by_role(staff, text) if text else None)
        or by_service(staff, services, service_key)
        or by_key(staff, default_key)
    )


# ---- the message's words --------------------------------------------------------------------


@dataclass(frozen=True)
class MessageFields:
    """What a staff message says, as plain text ready to format."""

    recipient_name: str | None
    caller_name: str | None
    caller_phone: str | None
    caller_email: str | None
    reason: str | None
    urgency: str
    summary: str
    taken_at: str | None = None  # already in the tenant's time zone, e.g. "20/11/2026 10:05"
    transcript_url: str | None = None
    ack_url: str | None = None
    business: str | None = None
    escalation: bool = False  # sent to the backup because nobody acknowledged in time


_TEXT: dict[str, dict[str, str]] = {
    "es": {
        "low": "",
        "normal": "",
        "high": "[Urgente] ",
        "emergency": "[EMERGENCIA] ",
        "escalation": "[Sin confirmar] ",
        "subject_for": "Mensaje de {caller} para {recipient}",
        "subject": "Mensaje de {caller}",
        "unknown_caller": "un cliente",
        "lead": "Mensaje para {recipient}, tomado por la recepcionista virtual{when}.",
        "lead_nobody": "Mensaje tomado por la recepcionista virtual{when}.",
        "when": " el {taken_at}",
        "lead_escalation": "Nadie ha confirmado todavía este mensaje. Le llega como suplente.",
        "who": "Quién",
        "phone": "Teléfono",
        "email": "Correo",
        "reason": "Motivo",
        "urgency": "Urgencia",
        "summary": "Resumen",
        "transcript": "Transcripción",
        "ack": "Confirme que lo ha recibido (un clic): {url}",
        "none": "(no lo ha dicho)",
        "urgency_low": "baja",
        "urgency_normal": "normal",
        "urgency_high": "alta",
        "urgency_emergency": "EMERGENCIA",
        "footer": "Enviado por Centralita{business}.",
    },
    "en": {
        "low": "",
        "normal": "",
        "high": "[Urgent] ",
        "emergency": "[EMERGENCY] ",
        "escalation": "[Not acknowledged] ",
        "subject_for": "Message from {caller} for {recipient}",
        "subject": "Message from {caller}",
        "unknown_caller": "a customer",
        "lead": "Message for {recipient}, taken by the virtual receptionist{when}.",
        "lead_nobody": "Message taken by the virtual receptionist{when}.",
        "when": " on {taken_at}",
        "lead_escalation": "Nobody has acknowledged this message yet. You get it as the backup.",
        "who": "Who",
        "phone": "Phone",
        "email": "Email",
        "reason": "Reason",
        "urgency": "Urgency",
        "summary": "Summary",
        "transcript": "Transcript",
        "ack": "Acknowledge it (one click): {url}",
        "none": "(not given)",
        "urgency_low": "low",
        "urgency_normal": "normal",
        "urgency_high": "high",
        "urgency_emergency": "EMERGENCY",
        "footer": "Sent by Centralita{business}.",
    },
}


def labels(language: str) -> dict[str, str]:
    return _TEXT.get(language, _TEXT["en"])


def _one_line(value: str | None) -> str | None:
    """Header-safe: no line breaks (they would start a new header)."""
    return " ".join(value.split()) if value else None


def format_message(fields: MessageFields, language: str) -> tuple[str, str]:
    """The subject and plain-text body of a staff message, in Spanish or English."""
    t = labels(language)
    caller = _one_line(fields.caller_name) or _one_line(fields.caller_phone)
    caller = caller or _one_line(fields.caller_email) or t["unknown_caller"]
    recipient = _one_line(fields.recipient_name)
    prefix = t.get(fields.urgency, "") + (t["escalation"] if fields.escalation else "")
    title = t["subject_for" if recipient else "subject"].format(caller=caller, recipient=recipient)
    subject = (prefix + title)[:250]

    when = t["when"].format(taken_at=fields.taken_at) if fields.taken_at else ""
    lines = [
        t["lead"].format(recipient=recipient, when=when)
        if recipient
        else t["lead_nobody"].format(when=when)
    ]
    if fields.escalation:
        lines.append(t["lead_escalation"])
    lines.append("")
    urgency = t.get(f"urgency_{fields.urgency}", fields.urgency)
    for label, value in (
        ("who", fields.caller_name),
        ("phone", fields.caller_phone),
        ("email", fields.caller_email),
        ("reason", fields.reason),
        ("urgency", urgency),
    ):
        lines.append(f"{t[label]}: {value or t['none']}")
    lines += ["", f"{t['summary']}:", fields.summary.strip() or t["none"]]
    if fields.transcript_url:
        lines += ["", f"{t['transcript']}: {fields.transcript_url}"]
    if fields.ack_url:
        lines += ["", t["ack"].format(url=fields.ack_url)]
    business = f" · {fields.business}" if fields.business else ""
    lines += ["", "-- ", t["footer"].format(business=business)]
    return subject, "\n".join(lines) + "\n"
