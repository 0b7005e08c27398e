"""``centralita``: run, configure and operate Centralita."""

from __future__ import annotations

import click

from centralita import __version__
from centralita.cli.campaign import campaign
from centralita.cli.contacts import contacts
from centralita.cli.db import db
from centralita.cli.demo import demo
from centralita.cli.inbox import inbox
from centralita.cli.nlu import nlu
from centralita.cli.privacy import privacy
from centralita.cli.server import serve, worker
from centralita.cli.simulate import simulate
from centralita.cli.staffing import staffing
from centralita.cli.tenant import tenant
from centralita.cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="centralita")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="An env-style file of CENTRALITA_* settings.",
)
@click.pass_context
def cli(ctx: click.Context, env_file: str | None) -> None:
    """Centralita: an AI virtual receptionist with an omnichannel contact center behind it.

    Settings come from CENTRALITA_* environment variables, or from an env-style file named by
    --env-file or CENTRALITA_ENV_FILE. Start with `centralita demo`.
    """

    ctx.ensure_object(dict)
    ctx.obj["env_file"] = env_file


for command in (demo, serve, worker, db, tenant, user, contacts, nlu, simulate, staffing, campaign):
    cli.add_command(command)
cli.add_command(inbox)
cli.add_command(privacy)
