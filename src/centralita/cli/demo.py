"""``centralita demo``: a ready-to-try server on an embedded SQLite database."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

import click

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.cli.context import run_with_container, settings_from
from centralita.cli.server import run_server
from centralita.db import migrate
from centralita.demo import demo_tenant_files
from centralita.staff_messages.mailcatcher import start_mail_catcher
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.loader import load_tenant_document

DEMO_PASSWORD = "centralita-demo"


@dataclass(frozen=True)
class DemoLogin:
    tenant: str
    email: str
    role: str


@dataclass(frozen=True)
class DemoSetup:
    logins: list[DemoLogin]
    api_keys: dict[str, str]


def _secret_key(data_dir: Path) -> str:
    """A per-install demo secret, kept in the data directory so sessions survive restarts."""
    path = data_dir / "demo-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


async def load_demo(container: Container) -> DemoSetup:
    """Apply the demo tenant files (idempotent), give every user the demo password, issue keys."""
    logins: list[DemoLogin] = []
    keys: dict[str, str] = {}
    for file in demo_tenant_files():
        doc = load_tenant_document(file.read_text(encoding="utf-8"), filename=file.name)
        async with container.sessions() as session, session.begin():
            report = await apply_document(session, doc, actor="demo")
            for user in await access_service.list_users(session, tenant_id=report.tenant_id):
                await access_service.update_user(
                    session,
                    tenant_id=report.tenant_id,
                    user_id=user.id,
                    password=DEMO_PASSWORD,
                    cheap_hash=container.settings.password_hash_cheap,
                )
                logins.append(DemoLogin(doc.tenant.slug, user.email, user.role))
            for key in await access_service.list_api_keys(session, tenant_id=report.tenant_id):
                if key.name == "demo" and key.revoked_at is None:
                    await access_service.revoke_api_key(
                        session, tenant_id=report.tenant_id, key_id=key.id
                    )
            issued = await access_service.create_api_key(
                session, tenant_id=report.tenant_id, name="demo", role="admin", created_by="demo"
            )
            keys[doc.tenant.slug] = issued.secret
    return DemoSetup(logins, keys)


@click.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".centralita-demo"),
    show_default=True,
    help="Where the demo's SQLite database and secret live.",
)
@click.option("--no-serve", is_flag=True, help="Set up the database and exit (for scripts).")
@click.pass_context
def demo(ctx: click.Context, port: int, host: str, data_dir: Path, no_serve: bool) -> None:
    """Run a ready-to-try Centralita with two demo businesses, offline, on SQLite.

    Loads a Spanish dental clinic and an English law firm from their configuration-as-code
    files, prints the URL, the logins and one API key per tenant, then serves until Ctrl-C.
    Open /simulator to play a customer on phone, SMS, WhatsApp, email or web chat.
    """
    data_dir = data_dir.resolve()
    # Outgoing mail (messages taken for staff) goes to a local catcher shown at /mailbox.
    mail_dir = data_dir / "mail"
    catcher, smtp_port = (None, 0) if no_serve else asyncio.run(start_mail_catcher(mail_dir))
    settings = settings_from(
        ctx,
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
        redis_url="",
        host=host,
        port=port,
        public_base_url=f"http://{host}:{port}",
        environment="development",
        secret_key=_secret_key(data_dir),
        cookie_secure=False,
        simulator_enabled=True,
        mailbox_dir=mail_dir,
        smtp_host="127.0.0.1" if catcher is not None else "",
        smtp_port=smtp_port or 25,
        smtp_starttls=False,
    )
    migrate.upgrade(settings.database_url)
    setup = run_with_container(settings, load_demo)
    url = f"http://{host}:{port}"
    click.echo(click.style("\nCentralita demo", bold=True))
    click.echo(f"  URL:        {url}/login")
    click.echo(f"  Simulator:  {url}/simulator")
    click.echo(f"  API docs:   {url}/docs")
    click.echo(f"  Mailbox:    {url}/mailbox  (the demo's emails; they never leave this machine)")
    click.echo(f"  Database:   {data_dir / 'demo.db'}")
    click.echo(f"\n  Logins (password for all: {DEMO_PASSWORD}):")
    for login in setup.logins:
        click.echo(f"    workspace {login.tenant:<24} {login.email:<36} {login.role}")
    click.echo("\n  API keys (new on every start; use as 'Authorization: Bearer <key>'):")
    for slug, key in setup.api_keys.items():
        click.echo(f"    {slug:<24} {key}")
    click.echo("")
    if no_serve:
        return
    run_server(settings, workers=True, log_level="warning")
    if catcher is not None:
        catcher.stop()
