"""``centralita tenant``: configuration as code (placeholder until filled in)."""

from __future__ import annotations

import click


@click.group()
def tenant() -> None:
    """Validate, apply, export tenant YAML files and print their JSON Schema."""
