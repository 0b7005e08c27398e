"""``centralita``: run, configure and operate Centralita."""

from __future__ import annotations

import click

from centralita import __version__
from centralita.cli.contacts import contacts
from centralita.cli.tenant import tenant


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="centralita")
def cli() -> None:
    """Centralita: an AI virtual receptionist with an omnichannel contact center behind it.

    Settings come from CENTRALITA_* environment variables, or from an env-style file named by
    --env-file or CENTRALITA_ENV_FILE. Start with `centralita demo`.
    """


cli.add_command(tenant)
cli.add_command(contacts)
