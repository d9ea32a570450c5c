"""Runs many `jaxdl` command lines in one process, one after another, as the CLI runs each alone.

JAX starts once instead of once per command line, so a catalog of bad inputs costs seconds.
Reads a JSON list of argument lists on stdin; writes a JSON list of {"code", "stdout", "stderr"}.
"""

import contextlib
import io
import json
import sys

from absl import flags, logging

from jaxdl.cli import main


def run_one(argv: list[str]) -> dict:
  flags.FLAGS.unparse_flags()  # every command line starts from the defaults, as a new process would
  out, err, code = io.StringIO(), io.StringIO(), 0
  logging.get_absl_handler().python_handler.stream = err  # log lines count as printed too
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      main.main_reporting_errors(main.parse_flags(["jaxdl", *argv]))
    except SystemExit as e:
      code = e.code
  return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


if __name__ == "__main__":
  results = [run_one(argv) for argv in json.load(sys.stdin)]
  print(json.dumps(results))
