"""``centralita nlu``: run the offline NLU on one utterance, or on a JSON Lines file."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from centralita.receptionist.nlu.language import LANGUAGES, Language
from centralita.receptionist.nlu.result import (
    DirectoryEntry,
    NluContext,
    ServiceEntry,
)
from centralita.tenants.config.errors import ConfigErrors
from centralita.tenants.config.schema import TenantDocument

if TYPE_CHECKING:
    from centralita.receptionist.nlu.result import NluEngine

DEFAULT_TIMEZONE = "Europe/Madrid"
DEFAULT_COUNTRY = "ES"


class NluInputError(ValueError):
    """A tenant, time or input line the command cannot use."""


def context_from_document(doc: TenantDocument, *, now: datetime) -> NluContext:
    """The NLU context of a tenant: its zone, country, language, staff and services."""
    services = tuple(
        ServiceEntry(key=s.key, names=tuple(n for n in (s.name.es, s.name.en) if n))
        for s in doc.services
    )
    directory = tuple(
        DirectoryEntry(
            key=person.key,
            name=person.name,
            aliases=tuple(person.aliases),
            role=person.role,
            services=tuple(
                name
                for s in doc.services
                if person.key in s.staff
                for name in (s.name.es, s.name.en)
                if name
            ),
        )
        for person in doc.staff
    )
    return NluContext(
        now=now,
        timezone=doc.tenant.timezone,
        country=doc.tenant.country,
        default_language=doc.tenant.locale,
        directory=directory,
        services=services,
    )


def load_tenant(reference: str) -> TenantDocument:
    """A tenant from a YAML file path, or the slug of a demo tenant."""
    from centralita.demo import demo_tenant_text
    from centralita.tenants.config.loader import load_tenant_document, load_tenant_file

    path = Path(reference)
    try:
        if path.suffix in (".yaml", ".yml") or path.is_file():
            return load_tenant_file(path)
        return load_tenant_document(demo_tenant_text(reference), filename=f"{reference}.yaml")
    except ConfigErrors as exc:
        raise NluInputError(f"tenant {reference}: {exc}") from None
    except KeyError as exc:
        raise NluInputError(str(exc.args[0])) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NluInputError(f"tenant {reference}: cannot read: {exc}") from None


def parse_now(value: str | None, timezone: str) -> datetime:
    """``value`` (ISO 8601) as an aware time; naive times are in ``timezone``; None is now."""
    zone = ZoneInfo(timezone)
    if value is None:
        return datetime.now(zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NluInputError(f"--now: not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


class _Contexts:
    """Builds each line's context, loading every tenant once."""

    def __init__(self) -> None:
        self._tenants: dict[str, TenantDocument] = {}

    def build(self, tenant: str | None, now: str | None, language: str | None) -> NluContext:
        if language is not None and language not in LANGUAGES:
            raise NluInputError(f"lang must be one of {', '.join(LANGUAGES)}, not {language!r}")
        forced: Language | None = "es" if language == "es" else "en" if language == "en" else None
        if tenant is None:
            context = NluContext(
                now=parse_now(now, DEFAULT_TIMEZONE),
                timezone=DEFAULT_TIMEZONE,
                country=DEFAULT_COUNTRY,
            )
        else:
            if tenant not in self._tenants:
                self._tenants[tenant] = load_tenant(tenant)
            doc = self._tenants[tenant]
            try:
                moment = parse_now(now, doc.tenant.timezone)
            except ZoneInfoNotFoundError:
                raise NluInputError(f"tenant {tenant}: unknown time zone") from None
            context = context_from_document(doc, now=moment)
        return replace(context, language=forced)


def _line_result(
    engine: NluEngine, contexts: _Contexts, line: str, defaults: dict[str, str | None]
) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"not JSON: {exc}"}
    if not isinstance(item, dict):
        return {"error": "each line must be a JSON object"}
    text = item.get("text")
    if not isinstance(text, str):
        return {"error": 'missing "text" (a string)'}
    options: dict[str, str | None] = {}
    for key in ("lang", "tenant", "now"):
        value = item.get(key, defaults[key])
        if value is not None and not isinstance(value, str):
            return {"error": f'"{key}" must be a string'}
        options[key] = value
    try:
        context = contexts.build(options["tenant"], options["now"], options["lang"])
    except NluInputError as exc:
        return {"error": str(exc)}
    try:
        return engine.analyse(text, context).public()
    except Exception as exc:  # one bad line must not lose the rest of a batch
        return {"error": f"{type(exc).__name__}: {exc}"}


def _echo(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.command()
@click.argument("text", required=False)
@click.option(
    "--lang",
    type=click.Choice(list(LANGUAGES)),
    default=None,
    help="Force the language instead of detecting it.",
)
@click.option(
    "--tenant",
    "tenant",
    metavar="SLUG_OR_YAML",
    default=None,
    help="A tenant YAML file, or a demo tenant slug (clinica-dental-sonrisa, hartley-law): "
    "gives the time zone, country, language, staff and services.",
)
@click.option(
    "--now",
    metavar="ISO",
    default=None,
    help="The moment the caller speaks, e.g. 2026-11-20T10:00:00+01:00 (default: now). "
    "Relative dates such as 'mañana' are resolved from it.",
)
@click.option(
    "--jsonl",
    type=click.File("r", encoding="utf-8"),
    default=None,
    metavar="FILE",
    help='Read one JSON object per line ({"text": ..., "lang": ..., "tenant": ..., "now": ...}) '
    "from FILE, or - for stdin, and print one result per line.",
)
def nlu(
    text: str | None,
    lang: str | None,
    tenant: str | None,
    now: str | None,
    jsonl: IO[str] | None,
) -> None:
    """Analyse caller text offline and print the result as JSON.

    Prints language, intent, confidence, urgency, spam verdict, sentiment, whether the caller
    wants a person, and the name, phone, email, date and staff member mentioned. Card numbers
    are redacted before anything else. Without --tenant: Europe/Madrid, country ES, no staff.

    With --jsonl, a bad line prints {"error": ...} for that line and the rest go on; blank
    lines are skipped. The first utterance takes a few seconds (models load and train).
    """
    from centralita.receptionist.nlu.pipeline import default_engine

    if (text is None) == (jsonl is None):
        raise click.UsageError("give either TEXT or --jsonl FILE")
    engine = default_engine()
    contexts = _Contexts()
    if jsonl is None:
        assert text is not None
        try:
            context = contexts.build(tenant, now, lang)
        except NluInputError as exc:
            raise click.ClickException(str(exc)) from None
        _echo(engine.analyse(text, context).public())
        return
    defaults = {"lang": lang, "tenant": tenant, "now": now}
    for line in jsonl:
        if line.strip():
            _echo(_line_result(engine, contexts, line, defaults))
