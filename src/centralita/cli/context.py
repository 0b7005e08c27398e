"""Shared CLI plumbing: settings from the group's --env-file, and an async container."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from centralita.bootstrap import Container, build_container
from centralita.config import Settings, load_settings

T = TypeVar("T")


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    env_file = (ctx.find_root().obj or {}).get("env_file")
    try:
        return load_settings(env_file, **overrides)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"settings: {exc}") from exc


def run_with_container(settings: Settings, fn: Callable[[Container], Awaitable[T]]) -> T:
    """Run ``fn`` with a started container (no background workers), then drain the outbox."""

    async def main() -> T:
        container = build_container(settings, run_workers=False)
        await container.start()
        try:
            result = await fn(container)
            await container.relay.drain()
            return result
        finally:
            await container.stop()

    return asyncio.run(main())
