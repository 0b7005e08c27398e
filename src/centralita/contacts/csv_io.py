"""Contacts as CSV: parse and check a file, import it all-or-nothing, export a tenant.

Columns: ``id, name, language, phones, emails, whatsapp, web, tags, value, vip``, then
``consent_<flag>`` (true/false) and ``attr_<name>`` (text). ``phones``, ``emails``,
``whatsapp``, ``web`` and ``tags`` hold several values separated by ``;``. Every column is
optional and order does not matter.

Import rules: a row with an ``id`` updates that contact; otherwise a row whose addresses
belong to an existing contact updates it; otherwise it creates a contact. An empty cell
leaves the field as it is; a non-empty cell replaces it (tags as a whole list); addresses
are added, never removed; attributes and consent flags are set one by one. Every row is
checked before anything is written, and by default one bad row rejects the whole file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts import rules
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact
from centralita.core.addresses import normalise_address
from centralita.core.errors import DomainError, FieldProblem, InvalidInput
from centralita.core.ids import looks_like_id

FIXED_COLUMNS = (
    "id",
    "name",
    "language",
    "phones",
    "emails",
    "whatsapp",
    "web",
    "tags",
    "value",
    "vip",
)
ADDRESS_COLUMNS = {"phones": "phone", "emails": "email", "whatsapp": "whatsapp", "web": "web"}
CONSENT_PREFIX = "consent_"
ATTRIBUTE_PREFIX = "attr_"
SEPARATOR = ";"
_TRUE = {"true", "yes", "y", "1", "si", "sí", "x"}
_FALSE = {"false", "no", "n", "0"}
# Spreadsheets run cells starting with these as formulas; exports prefix them with "'".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 500


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ContactRow:
    """One checked CSV row: only the cells that were filled in."""

    line: int
    id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    addresses: list[tuple[str, str, str]] = field(default_factory=list)  # (column, kind, value)


@dataclass
class ParsedCsv:
    rows: list[ContactRow]
    problems: list[RowProblem]
    fatal: bool = False  # a header problem: no row can be read


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def skipped_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


class CsvRejected(InvalidInput):
    """The file had problems and nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        lines = report.skipped_lines
        super().__init__(
            f"{len(lines)} row(s) have problems; nothing was imported",
            problems=[
                FieldProblem(f"line {p.line}: {p.field}", p.message) for p in report.problems
            ],
        )
        self.report = report


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput.for_field("", f"use true or false, not {text!r}")


def _unprotect(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _protect(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _read_header(cells: list[str]) -> tuple[list[str], list[RowProblem]]:
    names: list[str] = []
    problems: list[RowProblem] = []
    for raw in cells:
        name = raw.strip()
        lowered = name.lower()
        if lowered in FIXED_COLUMNS:
            name = lowered
        elif lowered.startswith(CONSENT_PREFIX):
            name = lowered
            key = name[len(CONSENT_PREFIX) :]
            try:
                rules.check_consent({key: True})
            except InvalidInput as exc:
                problems.append(RowProblem(1, raw, exc.problems[0].message))
        elif lowered.startswith(ATTRIBUTE_PREFIX):
            name = ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :]
            try:
                rules.check_attributes({name[len(ATTRIBUTE_PREFIX) :]: ""})
            except InvalidInput as exc:
                problems.append(RowProblem(1, raw, exc.problems[0].message))
        else:
            expected = ", ".join(FIXED_COLUMNS)
            problems.append(
                RowProblem(
                    1,
                    raw or "(empty)",
                    f"unknown column; use {expected}, consent_<flag> or attr_<name>",
                )
            )
        if name in names:
            problems.append(RowProblem(1, raw, "the column appears twice"))
        names.append(name)
    attrs = sum(1 for n in names if n.startswith(ATTRIBUTE_PREFIX))
    if attrs > rules.MAX_ATTRIBUTES:
        problems.append(
            RowProblem(1, "attr_*", f"at most {rules.MAX_ATTRIBUTES} attribute columns")
        )
    return names, problems


def _read_row(
    line: int, header: list[str], cells: list[str], default_region: str | None
) -> tuple[ContactRow, list[RowProblem]]:
    row = ContactRow(line=line)
    problems: list[RowProblem] = []
    for column, raw in zip(header, cells, strict=False):
        text = raw.strip()
        if not text:
            continue
        try:
            _read_cell(row, column, text, default_region)
        except InvalidInput as exc:
            for p in exc.problems or [FieldProblem(column, exc.detail)]:
                problems.append(RowProblem(line, column, p.message))
    if len(row.addresses) > rules.MAX_ADDRESSES:
        problems.append(RowProblem(line, "phones", f"at most {rules.MAX_ADDRESSES} addresses"))
    return row, problems


def _read_cell(row: ContactRow, column: str, text: str, default_region: str | None) -> None:
    if column == "id":
        if not looks_like_id(text):
            raise InvalidInput.for_field(column, f"not a contact id: {text!r}")
        row.id = text
    elif column in ADDRESS_COLUMNS:
        for part in text.split(SEPARATOR):
            if part.strip():
                k, v = normalise_address(
                    ADDRESS_COLUMNS[column], part, default_region=default_region, field=column
                )
                if (column, k.value, v) not in row.addresses:
                    row.addresses.append((column, k.value, v))
    elif column == "tags":
        parts = [_unprotect(t.strip()) for t in text.split(SEPARATOR) if t.strip()]
        row.fields["tags"] = rules.check_tags(parts)
    elif column == "vip":
        row.fields["vip"] = _parse_bool(text)
    elif column == "name":
        row.fields["name"] = rules.check_name(_unprotect(text))
    elif column in ("language", "value"):
        row.fields[column] = rules.FIELD_RULES[column](text)
    elif column.startswith(CONSENT_PREFIX):
        row.consent[column[len(CONSENT_PREFIX) :]] = _parse_bool(text)
    else:
        key = column[len(ATTRIBUTE_PREFIX) :]
        row.attributes[key] = rules.check_attribute_value(_unprotect(text), column)


def parse_contacts_csv(text: str, *, default_region: str | None = None) -> ParsedCsv:
    """Read and check every row of a contacts CSV without touching the database.

    Line numbers are the file's, counting the header as line 1.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        return ParsedCsv([], [RowProblem(1, "header", f"not readable as CSV: {exc}")], True)
    if first is None or not any(c.strip() for c in first):
        return ParsedCsv([], [RowProblem(1, "header", "the file has no header row")], True)
    header, problems = _read_header(first)
    if problems:
        return ParsedCsv([], problems, True)
    rows: list[ContactRow] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.append(RowProblem(start, "row", f"not readable as CSV: {exc}"))
            break
        end = reader.line_num
        if cells is None:
            break
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                RowProblem(
                    start, "row", f"{len(cells)} cells, but the header has {len(header)} columns"
                )
            )
            continue
        row, row_problems = _read_row(start, header, cells, default_region)
        problems.extend(row_problems)
        if not row_problems:
            rows.append(row)
    return ParsedCsv(rows, problems)


async def _contacts_by_id(
    session: AsyncSession, *, tenant_id: str, ids: Iterable[str]
) -> dict[str, Contact]:
    wanted = sorted(set(ids))
    found: dict[str, Contact] = {}
    for start in range(0, len(wanted), _BATCH):
        rows = await session.scalars(
            select(Contact).where(
                Contact.tenant_id == tenant_id, Contact.id.in_(wanted[start : start + _BATCH])
            )
        )
        found.update({c.id: c for c in rows.all()})
    return found


async def _plan(
    session: AsyncSession, *, tenant_id: str, rows: list[ContactRow]
) -> tuple[list[tuple[ContactRow, Contact | None]], list[RowProblem]]:
    """Match each row to the contact it updates (or None: create), checking the whole file."""
    owners = await contacts_service.addresses_owned(
        session, tenant_id=tenant_id, pairs=[(k, v) for r in rows for _, k, v in r.addresses]
    )
    by_id = await _contacts_by_id(
        session,
        tenant_id=tenant_id,
        ids=[r.id for r in rows if r.id] + list(owners.values()),
    )
    plan: list[tuple[ContactRow, Contact | None]] = []
    problems: list[RowProblem] = []
    address_line: dict[tuple[str, str], int] = {}
    target_line: dict[str, int] = {}
    for row in rows:
        found = _match(row, owners, by_id)
        if isinstance(found, RowProblem):
            problems.append(found)
            continue
        row_problems = _check_against_file(row, found, address_line, target_line)
        row_problems.extend(_check_limits(row, found))
        if row_problems:
            problems.extend(row_problems)
            continue
        for _, kind, value in row.addresses:
            address_line[(kind, value)] = row.line
        if found is not None:
            target_line[found.id] = row.line
        plan.append((row, found))
    return plan, problems


def _match(
    row: ContactRow, owners: Mapping[tuple[str, str], str], by_id: Mapping[str, Contact]
) -> Contact | RowProblem | None:
    owned = {
        (column, value): owners[(kind, value)]
        for column, kind, value in row.addresses
        if (kind, value) in owners
    }
    if row.id is not None:
        contact = by_id.get(row.id)
        if contact is None:
            return RowProblem(row.line, "id", f"no contact {row.id} in this tenant")
        if contact.merged_into_id:
            return RowProblem(
                row.line, "id", f"contact {row.id} was merged into {contact.merged_into_id}"
            )
        for (column, value), owner in owned.items():
            if owner != contact.id:
                return RowProblem(row.line, column, f"{value} belongs to contact {owner}")
        return contact
    distinct = sorted(set(owned.values()))
    if len(distinct) > 1:
        column = next(iter(owned))[0]
        return RowProblem(
            row.line,
            column,
            f"the addresses belong to different contacts ({', '.join(distinct)}); merge them "
            f"first or split the row",
        )
    return by_id[distinct[0]] if distinct else None


def _check_against_file(
    row: ContactRow,
    found: Contact | None,
    address_line: dict[tuple[str, str], int],
    target_line: dict[str, int],
) -> list[RowProblem]:
    problems = [
        RowProblem(row.line, column, f"{value} also appears on line {address_line[(kind, value)]}")
        for column, kind, value in row.addresses
        if (kind, value) in address_line
    ]
    if found is not None and found.id in target_line:
        problems.append(
            RowProblem(
                row.line,
                "id" if row.id else row.addresses[0][0],
                f"updates the same contact {found.id} as line {target_line[found.id]}",
            )
        )
    return problems


def _check_limits(row: ContactRow, found: Contact | None) -> list[RowProblem]:
    current_attrs = set(found.attributes or {}) if found is not None else set()
    current_addresses = len(found.addresses) if found is not None else 0
    problems = []
    if len(current_attrs | set(row.attributes)) > rules.MAX_ATTRIBUTES:
        problems.append(
            RowProblem(
                row.line,
                "attr_*",
                f"the contact would have more than {rules.MAX_ATTRIBUTES} attributes",
            )
        )
    if current_addresses + len(row.addresses) > rules.MAX_ADDRESSES:
        problems.append(
            RowProblem(
                row.line,
                "phones",
                f"the contact would have more than {rules.MAX_ADDRESSES} addresses",
            )
        )
    return problems


async def _write(
    session: AsyncSession, *, tenant_id: str, row: ContactRow, found: Contact | None, actor: str
) -> str:
    """Create or update one contact from ``row``; return created, updated or unchanged."""
    addresses = [(kind, value) for _, kind, value in row.addresses]
    if found is None:
        await contacts_service.create_contact(
            session,
            tenant_id=tenant_id,
            addresses=addresses,
            source="csv",
            actor=actor,
            **row.fields,
            attributes=row.attributes,
            consent=row.consent,
        )
        return "created"
    before = contacts_service.contact_state(found), len(found.addresses)
    changes: dict[str, Any] = dict(row.fields)
    if row.attributes:
        changes["attributes"] = row.attributes
    if row.consent:
        changes["consent"] = row.consent
    await contacts_service.update_contact(
        session, tenant_id=tenant_id, contact_id=found.id, actor=actor, **changes
    )
    have = {(a.kind, a.value) for a in found.addresses}
    for kind, value in addresses:
        if (kind, value) not in have:
            await contacts_service.add_address(
                session,
                tenant_id=tenant_id,
                contact_id=found.id,
                kind=kind,
                value=value,
                actor=actor,
            )
    after = contacts_service.contact_state(found), len(found.addresses)
    return "unchanged" if before == after else "updated"


async def import_contacts(
    session: AsyncSession,
    *,
    tenant_id: str,
    parsed: ParsedCsv,
    skip_invalid: bool = False,
    actor: str = "cli",
    on_row: Callable[[], None] | None = None,
) -> ImportReport:
    """Import checked rows in the caller's transaction.

    Without ``skip_invalid`` any problem raises ``CsvRejected`` before anything is written.
    With it, the rows without problems are imported and the report lists the others.
    A header problem always rejects the file.
    """
    report = ImportReport(problems=list(parsed.problems))
    if parsed.fatal:
        raise CsvRejected(report)
    plan, problems = await _plan(session, tenant_id=tenant_id, rows=parsed.rows)
    report.problems = sorted([*report.problems, *problems], key=lambda p: p.line)
    if report.problems and not skip_invalid:
        raise CsvRejected(report)
    for row, found in plan:
        try:
            async with session.begin_nested():
                outcome = await _write(
                    session, tenant_id=tenant_id, row=row, found=found, actor=actor
                )
        except DomainError as exc:
            # A concurrent change since the check; the savepoint undid this row only.
            report.problems.append(RowProblem(row.line, "row", exc.detail))
            if not skip_invalid:
                raise CsvRejected(report) from exc
            outcome = "skipped"
        if outcome == "created":
            report.created += 1
        elif outcome == "updated":
            report.updated += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        if on_row is not None:
            on_row()
    return report


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _protect(value)
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _export_row(contact: Contact) -> dict[str, str]:
    row = {
        "id": contact.id,
        "name": _cell(contact.name),
        "language": contact.language or "",
        "tags": SEPARATOR.join(_protect(t) for t in contact.tags or []),
        "value": str(contact.value),
        "vip": _cell(bool(contact.vip)),
    }
    for column, kind in ADDRESS_COLUMNS.items():
        # Sorted, so that exports are stable and diff well.
        row[column] = SEPARATOR.join(sorted(a.value for a in contact.addresses if a.kind == kind))
    for key, flag in (contact.consent or {}).items():
        row[CONSENT_PREFIX + key] = _cell(bool(flag))
    for key, value in (contact.attributes or {}).items():
        row[ATTRIBUTE_PREFIX + key] = _cell(value)
    return row


async def count_exportable(session: AsyncSession, *, tenant_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.merged_into_id.is_(None))
        )
        or 0
    )


async def export_contacts(
    session: AsyncSession,
    *,
    tenant_id: str,
    out: TextIO,
    on_row: Callable[[], None] | None = None,
) -> int:
    """Write every (unmerged) contact as CSV, oldest first; return how many.

    The consent and attribute columns are the union over all contacts, so the file is built
    in memory before it is written.
    """
    rows: list[dict[str, str]] = []
    after = ""
    while True:
        batch = list(
            (
                await session.scalars(
                    select(Contact)
                    .where(
                        Contact.tenant_id == tenant_id,
                        Contact.merged_into_id.is_(None),
                        Contact.id > after,
                    )
                    .order_by(Contact.id)
                    .limit(_BATCH)
                )
            ).all()
        )
        if not batch:
            break
        for contact in batch:
            rows.append(_export_row(contact))
            if on_row is not None:
                on_row()
        after = batch[-1].id
    extra = sorted({k for r in rows for k in r if k not in FIXED_COLUMNS})
    consent = [k for k in extra if k.startswith(CONSENT_PREFIX)]
    attrs = [k for k in extra if k.startswith(ATTRIBUTE_PREFIX)]
    writer = csv.DictWriter(
        out, fieldnames=[*FIXED_COLUMNS, *consent, *attrs], restval="", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)
