"""``centralita contacts``: CSV import and export (placeholder until filled in)."""

from __future__ import annotations

import click


@click.group()
def contacts() -> None:
    """Import and export contacts as CSV."""
