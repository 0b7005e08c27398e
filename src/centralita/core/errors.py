"""Domain errors; the API edge maps them to problem+json responses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str
    message: str


class DomainError(Exception):
    """Base class: a failure the caller can understand and fix."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"

    @classmethod
    def for_field(cls, name: str, message: str) -> InvalidInput:
        return cls(f"{name}: {message}", problems=[FieldProblem(name, message)])


class PermissionDenied(DomainError):
    status = 403
    title = "Forbidden"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthenticated"
