from centralita.cli.main import cli

cli()
