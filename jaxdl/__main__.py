"""`python -m jaxdl` is the `jaxdl` command."""

from jaxdl.main import run

run()
