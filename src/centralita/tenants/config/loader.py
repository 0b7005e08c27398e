"""Read a tenant document from YAML; every error names its line, column and field path."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from centralita.tenants.config.checks import Loc, Problem, as_problems, check_document, describe
from centralita.tenants.config.errors import ConfigError, ConfigErrors
from centralita.tenants.config.schema import TenantDocument, json_schema
from centralita.tenants.config.yaml_dialect import DuplicateKey, Positions, compose_with_positions


def load_tenant_document(text: str, *, filename: str = "<string>") -> TenantDocument:
    """Parse and validate one YAML tenant document; raise ``ConfigErrors`` naming every problem."""
    try:
        data, positions = compose_with_positions(text)
    except DuplicateKey as exc:
        line, column = exc.position
        raise ConfigErrors(
            [ConfigError(line, column, describe(exc.path), "duplicate key", filename)]
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigErrors([_syntax_error(exc, filename)]) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(None, None, "(yaml)", str(exc), filename)]) from None
    return validate_document(data, filename=filename, positions=positions)


def load_tenant_file(path: str | Path) -> TenantDocument:
    """``load_tenant_document`` on a UTF-8 file; errors carry the file's name."""
    path = Path(path)
    return load_tenant_document(path.read_text(encoding="utf-8"), filename=str(path))


def validate_document(
    data: Any,
    *,
    filename: str = "<data>",
    positions: Positions | None = None,
) -> TenantDocument:
    """Validate plain data (parsed YAML or JSON); ``positions`` maps field paths to lines."""
    problems = list(_nul_characters(data, ()))
    if not problems:
        try:
            doc = TenantDocument.model_validate(data)
        except ValidationError as exc:
            problems = as_problems(exc.errors())
        else:
            problems = check_document(doc)
            if not problems:
                return doc
    raise ConfigErrors([_located(p, data, positions, filename) for p in problems])


def _nul_characters(data: Any, loc: Loc) -> Iterator[Problem]:
    """NUL can be written in YAML ("\\0") but PostgreSQL text cannot hold it."""
    if isinstance(data, str) and "\x00" in data:
        yield loc, "text must not contain the NUL character (\\0)"
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _nul_characters(key, loc)
            yield from _nul_characters(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _nul_characters(value, (*loc, i))


def _syntax_error(exc: yaml.MarkedYAMLError, filename: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "<stream end>" in (exc.problem or ""):
        mark = exc.context_mark  # "unclosed [ at the end of the file": show where it opened
    message = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in message:
        message = "a tab character: indent with spaces"
    elif exc.context and exc.problem:
        message = f"{message} ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            message += f" started at line {exc.context_mark.line + 1}"
        message += ")"
    if mark is None:
        return ConfigError(None, None, "(yaml)", message, filename)
    return ConfigError(mark.line + 1, mark.column + 1, "(yaml)", message, filename)


def _located(
    problem: Problem,
    data: Any,
    positions: Positions | None,
    filename: str,
) -> ConfigError:
    loc, message = problem
    path = _data_path(loc, data)
    if not path and not isinstance(data, dict):
        message = "a tenant document is a mapping that starts with 'version: 1' and 'tenant:'"
    unknown = message == "unknown field"
    if unknown:
        message += _suggestion(path)
    if positions is None:
        return ConfigError(None, None, describe(path), message, filename)
    # A missing field is reported at the block that should hold it (the nearest ancestor).
    line, column = positions.find(path, key=unknown)
    return ConfigError(line, column, describe(path), message, filename)


def _data_path(loc: Loc, data: Any) -> Loc:
    """Drop the parts of a pydantic ``loc`` that are not in the data (type tags, ``[key]``)."""
    out: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
        elif i == len(loc) - 1 and not str(part).startswith("["):
            current = None  # a required field that is missing
        else:
            continue
        out.append(part)
    return tuple(out)


def _suggestion(path: Loc) -> str:
    if not path or not isinstance(path[-1], str):
        return ""
    fields = _fields_at(path[:-1])
    close = difflib.get_close_matches(path[-1], fields, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of: {', '.join(fields)}" if fields else ""


def _fields_at(path: Loc) -> list[str]:
    """The field names the JSON Schema allows at ``path``."""
    schema = _schema()
    node: dict[str, Any] | None = schema
    for part in path:
        node = _resolve(node, schema)
        if node is None:
            return []
        node = node.get("items") if isinstance(part, int) else node.get("properties", {}).get(part)
    node = _resolve(node, schema)
    return list(node.get("properties", {})) if node else []


def _resolve(node: dict[str, Any] | None, schema: dict[str, Any]) -> dict[str, Any] | None:
    while node is not None:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            node = next((n for n in node["anyOf"] if n.get("type") != "null"), None)
        else:
            return node
    return None


@functools.cache
def _schema() -> dict[str, Any]:
    return json_schema()
