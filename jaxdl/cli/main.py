"""The `jaxdl` command: parse flags, then run the `--mode` (jaxdl.modes) on one experiment."""

import sys

import jax
from absl import app, flags, logging

from jaxdl.cli import flags as jaxdl_flags
from jaxdl import runtime
from jaxdl.errors import UsageError
from jaxdl.modes import MODES, check_needs
from jaxdl.train import loop

FLAGS = flags.FLAGS


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parser, except that a bad flag ends with one line and exit status 2."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print(f"jaxdl: error: {e}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str]) -> None:
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO; --verbosity=0 shows it
  if len(argv) > 1:
    raise UsageError(f"unexpected arguments {argv[1:]}; every setting is a --flag")
  config = jaxdl_flags.config_from_flags()
  runtime.keep_freed_memory()
  runtime.set_compile_cache(FLAGS.compile_cache)
  if config.deterministic:
    runtime.set_deterministic()
  runtime.initialize_distributed(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id, FLAGS.heartbeat_timeout)
  mode = MODES[config.mode]
  check_needs(config.mode, config.task)
  if mode.needs_workdir and not FLAGS.workdir:
    raise UsageError("--workdir is required: the directory for checkpoints, metrics and plots")
  result = mode.run(config, FLAGS.workdir)
  if jax.process_index() == 0:  # one report per run, not one per process
    print(result)


def main_reporting_errors(argv: list[str]) -> None:
  """`main`, with a UsageError or a stopped run ending in one line and its exit status; a process of a multi-host
  run that fails otherwise ends at once (runtime.exit_multihost_on_error)."""
  try:
    main(argv)
  except UsageError as e:
    print(f"jaxdl: error: {e}", file=sys.stderr)
    sys.exit(2)
  except loop.TrainingStopped as e:
    print(f"jaxdl: {e}", file=sys.stderr)
    sys.exit(e.exit_code)
  except Exception as e:
    runtime.exit_multihost_on_error(e)
    raise


def run() -> None:
  """Console-script entry point."""
  app.run(main_reporting_errors, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
