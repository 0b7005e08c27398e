"""The YAML we read and write: safe, with YAML 1.2 scalars and node positions kept.

PyYAML follows YAML 1.1, where ``14:00`` is the integer 840 (base 60) and ``NO`` (Norway) or
``on`` are booleans. Tenant files are full of times and country codes, so the loader resolves
scalars as YAML 1.2 does: only ``true``/``false`` are booleans and numbers have no colons.
The dumper keeps PyYAML's quoting, so exported files read the same with any YAML library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float"))
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


class Loader(yaml.SafeLoader):
    pass


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
# Each pattern matches a subset of what SafeDumper's YAML 1.1 patterns match, so whatever the
# dumper writes unquoted as text, this loader also reads as text.
Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*\.[0-9_]*)(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)

Position = tuple[int, int]  # 1-based line and column
Path = tuple[Any, ...]


@dataclass
class Positions:
    """Where each field path is in the text: its value (scalars) or its key (blocks)."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def find(self, path: Path, *, key: bool = False) -> Position:
        """The position of ``path``, or of its nearest ancestor present in the text."""
        table = self.keys if key and path in self.keys else self.values
        while path and path not in table:
            path = path[:-1]
        return table.get(path, (1, 1))


def compose_with_positions(text: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain data plus the position of every field path.

    Raises ``yaml.MarkedYAMLError`` for syntax errors and ``DuplicateKey`` for repeated keys.
    """
    loader = Loader(text)
    positions = Positions()
    try:
        node = loader.get_single_node()
        if node is None:
            return None, positions
        return _construct(loader, node, (), positions), positions
    finally:
        loader.dispose()


class DuplicateKey(Exception):
    def __init__(self, path: Path, position: Position) -> None:
        super().__init__(f"duplicate key {path[-1]!r}")
        self.path = path
        self.position = position


def _position(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct(loader: Loader, node: yaml.Node, path: Path, out: Positions) -> Any:
    out.values.setdefault(path, _position(node))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves ``<<`` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain scalar", key_node.start_mark
                )
            child = (*path, key)
            if key in result:
                raise DuplicateKey(child, _position(key_node))
            out.keys[child] = _position(key_node)
            # A scalar is reported where its value is; a block where its key is.
            where = value_node if isinstance(value_node, yaml.ScalarNode) else key_node
            out.values[child] = _position(where)
            result[key] = _construct(loader, value_node, child, out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


def _str(dumper: Dumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _CLOCK.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


def _list(dumper: Dumper, value: list[Any]) -> yaml.Node:
    scalars = all(isinstance(v, str | int | float | bool) and "\n" not in str(v) for v in value)
    flow = scalars and len(repr(value)) <= 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


Dumper.add_representer(str, _str)
Dumper.add_representer(list, _list)


def dump(data: Any, *, header: str = "") -> str:
    """YAML text with keys in the given order, unicode kept and short lists inline."""
    body = yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
    return header + body
