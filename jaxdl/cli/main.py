"""The `jaxdl` command: parse flags, then run the `--mode` (jaxdl.modes) on one experiment."""

import dataclasses
import re
import sys

import jax
from absl import app, flags, logging

from jaxdl.cli import flags as jaxdl_flags
from jaxdl import runtime
from jaxdl.errors import UsageError
from jaxdl.modes import MODES, check_needs
from jaxdl.train import loop

FLAGS = flags.FLAGS
COMMAND_LINE: list[str] = []  # the arguments of the command being run, as given (absl keeps no flag file's path)


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parser, except that a bad flag ends with one line and exit status 2."""
  COMMAND_LINE[:] = argv[1:]
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print(f"jaxdl: error: {str(e).removeprefix('ERROR:: ')}", file=sys.stderr)
    sys.exit(2)


def unexpected(words: list[str]) -> UsageError:
  """Words absl read as no flag: from a flag file, the file and line of the first (a line without its --)."""
  for path in [arg.split("=", 1)[1] for arg in COMMAND_LINE if arg.startswith("--flagfile=")]:
    with open(path) as f:
      for number, line in enumerate(f, 1):
        if line.strip() == words[0]:
          return UsageError(f"{path}:{number}: {line.strip()!r} is not a --flag=value line (a flag file holds one "
                            "--flag=value per line; # starts a comment)")
  return UsageError(f"unexpected arguments {words}; every setting is a --flag")


def clip_warmup(config):
  """A --steps on the command line shorter than the flag file's warmup: the warmup is clipped to half the run (a
  --warmup_steps given beside it is the user's own, and stays an error)."""
  given = {arg.split("=", 1)[0] for arg in COMMAND_LINE}
  if config.warmup_steps < config.steps or "--steps" not in given or "--warmup_steps" in given:
    return config
  warmup = config.steps // 2
  print(f"jaxdl: --warmup_steps={config.warmup_steps} is not shorter than --steps={config.steps}: warming up over "
        f"{warmup} steps", file=sys.stderr)
  return dataclasses.replace(config, warmup_steps=warmup)


def main(argv: list[str]) -> None:
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO; --verbosity=0 shows it
  if len(argv) > 1:
    raise unexpected(argv[1:])
  config = clip_warmup(jaxdl_flags.config_from_flags())
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
  except jax.errors.JaxRuntimeError as e:
    if "RESOURCE_EXHAUSTED" not in str(e):
      runtime.exit_multihost_on_error(e)
      raise
    print(f"jaxdl: error: {out_of_memory(e)}", file=sys.stderr)
    sys.exit(1)
  except Exception as e:
    runtime.exit_multihost_on_error(e)
    raise


def out_of_memory(error: Exception) -> str:
  """One line for XLA's RESOURCE_EXHAUSTED: the batch size, the memory asked for, and what makes a step smaller."""
  asked = re.search(r"allocate (\d+) bytes", str(error))
  memory = f"{int(asked.group(1)) / 2**30:.2f} GiB asked for" if asked else "memory asked for"
  return (f"out of memory at --batch_size={FLAGS.batch_size} ({memory}: {str(error).splitlines()[0][:120]}); rerun "
          "with a smaller --batch_size (with --grad_accum_steps to keep the batch), --remat or --dtype=bfloat16: the "
          "workdir keeps what was saved")


def run() -> None:
  """Console-script entry point."""
  app.run(main_reporting_errors, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
