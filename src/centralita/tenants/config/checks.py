"""Rules that look across fields of a validated document, each naming the field at fault.

``check_document`` also normalises what depends on other fields: phone numbers are parsed in
the tenant's country and rewritten as E.164.
"""

from __future__ import annotations

from collections.abc import Iterable

import holidays as holidays_lib
from pydantic_core import ErrorDetails

from centralita.core.errors import InvalidInput
from centralita.core.phone import to_e164
from centralita.tenants.config.schema import Localized, TenantDocument

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def check_document(doc: TenantDocument) -> list[Problem]:
    """Return every cross-field problem; normalises phone numbers in place."""
    problems: list[Problem] = []
    problems += _check_places(doc)
    problems += _normalise_phones(doc)
    problems += _check_unique(doc)
    problems += _check_references(doc)
    problems += _check_people(doc)
    problems += _check_languages(doc)
    problems += _check_providers(doc)
    priced = [i for i, service in enumerate(doc.services) if service.price is not None]
    if doc.profile.currency is None and priced:
        message = "a price needs profile.currency (e.g. EUR)"
        problems.append((("services", priced[0], "price"), message))
    return problems


def _subdivisions(country: str) -> list[str] | None:
    return holidays_lib.list_supported_countries().get(country)


def _check_places(doc: TenantDocument) -> list[Problem]:
    problems: list[Problem] = []
    tenant, cal = doc.tenant, doc.holidays
    country_loc: Loc = ("holidays", "country") if cal.country else ("tenant", "country")
    country = cal.country or tenant.country
    region_subs = _subdivisions(tenant.country) if tenant.country else None
    if tenant.region and region_subs and tenant.region not in region_subs:
        problems.append((("tenant", "region"), _unknown_subdivision(tenant.region, region_subs)))
    if country is None:
        if cal.subdivision:
            problems.append((("holidays", "country"), "a subdivision needs a country"))
        return problems
    subs = _subdivisions(country)
    if subs is None:
        problems.append((country_loc, f"the holidays package has no calendar for {country!r}"))
        return problems
    if cal.subdivision and cal.subdivision not in subs:
        problems.append((("holidays", "subdivision"), _unknown_subdivision(cal.subdivision, subs)))
    return problems


def _unknown_subdivision(value: str, known: list[str]) -> str:
    return f"unknown subdivision {value!r}; use one of {', '.join(known)}"


def _normalise_phones(doc: TenantDocument) -> list[Problem]:
    problems: list[Problem] = []
    region = doc.tenant.country

    def normalise(value: str | None, loc: Loc) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(value, default_region=region)
        except InvalidInput as exc:
            problems.append((loc, exc.problems[0].message if exc.problems else exc.detail))
            return value

    doc.profile.phone = normalise(doc.profile.phone, ("profile", "phone"))
    for i, member in enumerate(doc.staff):
        member.phone = normalise(member.phone, ("staff", i, "phone"))
    emergency = doc.receptionist.emergency
    emergency.on_call_phone = normalise(
        emergency.on_call_phone, ("receptionist", "emergency", "on_call_phone")
    )
    for i, channel in enumerate(doc.channels):
        if channel.kind in ("voice", "sms"):
            channel.address = normalise(channel.address, ("channels", i, "address")) or ""
    return problems


def _duplicates(section: str, field: str, values: Iterable[str]) -> list[Problem]:
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for i, value in enumerate(values):
        if value in seen:
            first = f"{section}[{seen[value]}]"
            problems.append(((section, i, field), f"duplicate {field} {value!r} (see {first})"))
        else:
            seen[value] = i
    return problems


def _check_unique(doc: TenantDocument) -> list[Problem]:
    return [
        *_duplicates("staff", "key", (m.key for m in doc.staff)),
        *_duplicates("services", "key", (s.key for s in doc.services)),
        *_duplicates("faq", "key", (f.key for f in doc.faq)),
        *_duplicates("queues", "key", (q.key for q in doc.queues)),
        *_duplicates("channels", "name", (c.name for c in doc.channels)),
    ]


def _check_references(doc: TenantDocument) -> list[Problem]:
    problems: list[Problem] = []
    staff = {m.key for m in doc.staff}
    queues = {q.key for q in doc.queues}
    skills = {skill for m in doc.staff for skill in m.skills}
    for i, service in enumerate(doc.services):
        for j, key in enumerate(service.staff):
            if key not in staff:
                problems.append((("services", i, "staff", j), f"no staff member has key {key!r}"))
    default_queue = doc.receptionist.default_queue
    if default_queue is not None and default_queue not in queues:
        problems.append((("receptionist", "default_queue"), f"no queue has key {default_queue!r}"))
    receptionist = doc.receptionist
    named: list[tuple[Loc, str | None]] = [
        (
            ("receptionist", "messages", "default_recipient"),
            receptionist.messages.default_recipient,
        ),
        (("receptionist", "messages", "backup"), receptionist.messages.backup),
        *(
            (("receptionist", "emergency", "notify", j), key)
            for j, key in enumerate(receptionist.emergency.notify)
        ),
    ]
    for loc, named_key in named:
        if named_key is not None and named_key not in staff:
            problems.append((loc, f"no staff member has key {named_key!r}"))
    default_service = receptionist.booking.default_service
    if default_service is not None and default_service not in {s.key for s in doc.services}:
        problems.append(
            (
                ("receptionist", "booking", "default_service"),
                f"no service has key {default_service!r}",
            )
        )
    for i, queue in enumerate(doc.queues):
        for j, skill in enumerate(queue.skills):
            if skill not in skills:
                problems.append(
                    (("queues", i, "skills", j), f"no staff member has the skill {skill!r}")
                )
        for j, step in enumerate(queue.overflow):
            if step.queue is not None and (step.queue not in queues or step.queue == queue.key):
                problems.append(
                    (
                        ("queues", i, "overflow", j, "queue"),
                        f"no other queue has key {step.queue!r}",
                    )
                )
            for k, skill in enumerate(step.skills or []):
                if skill not in skills:
                    problems.append(
                        (
                            ("queues", i, "overflow", j, "skills", k),
                            f"no staff member has the skill {skill!r}",
                        )
                    )
    return problems


def _check_providers(doc: TenantDocument) -> list[Problem]:
    """What each provider's adapter needs from its channel account (channels/*/config.py)."""
    from centralita.channels.registry import ADDRESS_CHECKS, CONFIG_CHECKS

    problems: list[Problem] = []
    for i, channel in enumerate(doc.channels):
        address_check = ADDRESS_CHECKS.get(channel.provider)
        wrong = address_check(channel.address) if address_check is not None else None
        if wrong is not None:
            problems.append((("channels", i, "address"), wrong))
        check = CONFIG_CHECKS.get(channel.provider)
        if check is None:
            continue
        has_secret = channel.secret is not None or channel.secret_env is not None
        for where, message in check(channel.kind, channel.settings, has_secret):
            problems.append((("channels", i, *where), message))
    return problems


def _check_people(doc: TenantDocument) -> list[Problem]:
    problems: list[Problem] = []
    for i, member in enumerate(doc.staff):
        if member.user_role is not None and member.email is None:
            problems.append((("staff", i, "email"), "a staff member with a user_role needs one"))
    emails = [(i, m.email) for i, m in enumerate(doc.staff) if m.email is not None]
    seen: dict[str, int] = {}
    for i, email in emails:
        if email in seen:
            problems.append(
                (("staff", i, "email"), f"{email} is already used by staff[{seen[email]}]")
            )
        seen.setdefault(email, i)
    return problems


def _localized(doc: TenantDocument) -> Iterable[tuple[Loc, Localized | None]]:
    yield ("profile", "greeting"), doc.profile.greeting
    yield ("profile", "description"), doc.profile.description
    yield ("receptionist", "after_hours_message"), doc.receptionist.after_hours_message
    yield ("receptionist", "emergency_message"), doc.receptionist.emergency_message
    for i, service in enumerate(doc.services):
        yield ("services", i, "name"), service.name
        yield ("services", i, "description"), service.description
    for i, entry in enumerate(doc.faq):
        yield ("faq", i, "question"), entry.question
        yield ("faq", i, "answer"), entry.answer


def _check_languages(doc: TenantDocument) -> list[Problem]:
    """Every text exists in each language the receptionist speaks."""
    wanted = doc.languages
    problems: list[Problem] = []
    for loc, text in _localized(doc):
        if text is None:
            continue
        for lang in wanted:
            if lang not in text.languages():
                problems.append(((*loc, lang), _missing_language(lang, doc)))
    return problems


def _missing_language(lang: str, doc: TenantDocument) -> str:
    if doc.receptionist.languages is None:
        return f"missing: the tenant's locale is {lang!r}"
    return f"missing: the receptionist speaks {lang!r} (receptionist.languages)"


def describe(loc: Loc) -> str:
    """``("staff", 2, "phone")`` -> ``staff[2].phone``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def as_problems(errors: Iterable[ErrorDetails]) -> list[Problem]:
    """Pydantic's ``errors()`` as (loc, message) pairs with the "Value error, " noise removed."""
    out: list[Problem] = []
    for error in errors:
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        out.append((tuple(error["loc"]), message))
    return out
