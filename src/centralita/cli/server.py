"""``centralita serve`` and ``centralita worker``: the production processes."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

import click
import uvicorn

from centralita.api.limits import header_deadline_protocol
from centralita.bootstrap import build_container
from centralita.cli.context import settings_from
from centralita.config import Settings


def check_production(settings: Settings) -> None:
    if not settings.secret_key.get_secret_value():
        raise click.ClickException(
            "CENTRALITA_SECRET_KEY is required (it signs sessions and CSRF tokens); "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def run_server(settings: Settings, *, workers: bool = True, log_level: str = "info") -> None:
    from centralita.app import create_app

    container = build_container(settings, run_workers=workers)
    container.serve_smtp = True  # the email channel's SMTP receiver, if its port is set
    app = create_app(container)
    # Everything loaded so far lives as long as the process: keep it out of the collector's
    # full passes, which otherwise stall a request now and then for as long as it takes to
    # walk every module, model and compiled query (the KPI dashboard's p99 halved with it).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        proxy_headers=True,
        server_header=False,
        lifespan="on",
        # Slow clients (docs/api.md "Limits"): headers must arrive within a deadline (our
        # protocol class; uvicorn has none), idle keep-alive sockets close, and one oversized
        # header block is refused by the parser. Body deadlines live in api/limits.py.
        http=header_deadline_protocol(settings.request_header_timeout_seconds),
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        h11_max_incomplete_event_size=64 * 1024,
    )


@click.command()
@click.option("--host", help="Bind address (default: CENTRALITA_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: CENTRALITA_PORT or 8000).")
@click.option(
    "--no-workers",
    is_flag=True,
    help="Serve HTTP only; run `centralita worker` processes for the outbox relay.",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, no_workers: bool) -> None:
    """Run the production server (HTTP API, webhooks, web UI and, by default, the workers).

    Settings come from CENTRALITA_* variables or --env-file; run `centralita db upgrade`
    first. Several `serve` processes may share one PostgreSQL and Redis.
    """
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings_from(ctx, **overrides)
    check_production(settings)
    logging.basicConfig(level=settings.log_level)
    run_server(settings, workers=not no_workers, log_level=settings.log_level.lower())


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the background workers only: outbox relay and event subscribers."""
    settings = settings_from(ctx)
    logging.basicConfig(level=settings.log_level)

    async def main() -> None:
        container = build_container(settings, run_workers=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await container.start()
        click.echo(f"worker {os.getpid()} running; Ctrl-C to stop")
        await stop.wait()
        await container.stop()

    asyncio.run(main())
