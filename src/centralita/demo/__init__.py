"""Demo data shipped with Centralita: two tenants described as configuration-as-code files."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def demo_tenant_files() -> list[Traversable]:
    """The demo tenant YAML files (a Spanish dental clinic, an English law firm), by name."""
    folder = resources.files(__name__) / "tenants"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


def demo_tenant_text(slug: str) -> str:
    """The YAML text of the demo tenant ``slug`` (its file name without ``.yaml``)."""
    for file in demo_tenant_files():
        if file.name == f"{slug}.yaml":
            return file.read_text(encoding="utf-8")
    known = ", ".join(f.name.removesuffix(".yaml") for f in demo_tenant_files())
    raise KeyError(f"no demo tenant {slug!r}; known: {known}")
