"""``centralita user``: manage users from the command line."""

from __future__ import annotations

import click

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.cli.context import run_with_container, settings_from
from centralita.core.errors import DomainError
from centralita.tenants import service as tenants_service


@click.group()
def user() -> None:
    """Create users and API keys inside a tenant."""


@user.command("create")
@click.argument("tenant_slug")
@click.argument("email")
@click.option("--name", required=True, help="The person's display name.")
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "agent"]),
    default="agent",
    show_default=True,
)
@click.password_option(help="Login password (prompted twice if not given; 10+ characters).")
@click.pass_context
def create(
    ctx: click.Context, tenant_slug: str, email: str, name: str, role: str, password: str
) -> None:
    """Create a user who can log in to the web UI of TENANT_SLUG."""
    settings = settings_from(ctx)

    async def run(container: Container) -> str:
        async with container.sessions() as session, session.begin():
            tenant = await tenants_service.get_by_slug(session, slug=tenant_slug)
            created = await access_service.create_user(
                session,
                tenant_id=tenant.id,
                email=email,
                name=name,
                role=role,
                password=password,
                cheap_hash=settings.password_hash_cheap,
            )
            return created.id

    try:
        user_id = run_with_container(settings, run)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"created {role} {email} ({user_id}) in {tenant_slug}")


@user.command("api-key")
@click.argument("tenant_slug")
@click.option("--name", default="cli", show_default=True, help="A label for the key.")
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "agent"]),
    default="admin",
    show_default=True,
)
@click.pass_context
def api_key(ctx: click.Context, tenant_slug: str, name: str, role: str) -> None:
    """Issue an API key for TENANT_SLUG; the secret is printed once."""
    settings = settings_from(ctx)

    async def run(container: Container) -> str:
        async with container.sessions() as session, session.begin():
            tenant = await tenants_service.get_by_slug(session, slug=tenant_slug)
            issued = await access_service.create_api_key(
                session, tenant_id=tenant.id, name=name, role=role, created_by="cli"
            )
            return issued.secret

    try:
        secret = run_with_container(settings, run)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(secret)
