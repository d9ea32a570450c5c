"""`python -m jaxdl` is the `jaxdl` command."""

from jaxdl.cli.main import run

run()
