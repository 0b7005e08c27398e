"""Validation errors of a tenant document, each pointing at a file, line, column and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    line: int | None  # 1-based; None when the document did not come from text
    column: int | None  # 1-based
    field: str  # ``staff[2].phone``; ``(document)`` for the whole file, ``(yaml)`` for syntax
    message: str
    filename: str = "<string>"

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}"


class ConfigErrors(Exception):
    """A document failed validation; ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.column or 0, e.field))
        super().__init__("\n".join(str(e) for e in self.errors))
