"""The `jaxdl` command: parse flags, then train, evaluate or summarize one experiment."""

import os
import sys

import jax
import numpy as np
from absl import app, flags, logging

from jaxdl import data, parallel
from jaxdl.analysis import summary as model_summary
from jaxdl import flags as jaxdl_flags
from jaxdl.errors import UsageError
from jaxdl.data import augment
from jaxdl.train import ensemble, loop, plots
from jaxdl.train.setup import build_task

FLAGS = flags.FLAGS


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parser, except that a bad flag ends with one line and exit status 2."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print(f"jaxdl: error: {e}", file=sys.stderr)
    sys.exit(2)


def summarize(config) -> str:
  """`--mode=summary`: per-layer output shapes, parameters and multiply-adds at the data's image size."""
  dataset = data.load(config.data, config.data_args, config.seed)
  model = build_task(config, dataset.num_classes).model
  rows = model_summary.layers(model, dataset.image_shape)
  params = jax.eval_shape(model.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, *dataset.image_shape),
                                                                                   np.float32))["params"]
  total = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  return f"{config.model} on {config.data} {dataset.image_shape}\n" + model_summary.format_table(rows, total)


def augment_preview(config, workdir: str) -> str:
  """`--mode=augment_preview`: 4 training images, each followed by 7 augmented versions of it."""
  dataset = data.load(config.data, config.data_args, config.seed)
  fn = augment.parse(config.augment, dataset.num_classes)
  if fn is None:
    raise UsageError("--mode=augment_preview needs --augment, e.g. --augment=flip,crop=4,cutmix")
  originals = dataset.splits["train"].read(np.arange(4))
  rows = []
  for i in range(4):
    batch = {k: np.repeat(v[i:i + 1], 7, axis=0) for k, v in originals.items()}
    augmented = jax.jit(fn)(jax.random.PRNGKey(config.seed + i), batch)["image"]
    rows += [originals["image"][i], *np.asarray(augmented)]
  return plots.image_grid(os.path.join(workdir, "plots", "augment_preview.png"), np.stack(rows),
                          f"--augment={config.augment} (first column: original)")


def main(argv: list[str]) -> None:
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO; --verbosity=0 shows it
  if len(argv) > 1:
    raise UsageError(f"unexpected arguments {argv[1:]}; every setting is a --flag")
  config = jaxdl_flags.config_from_flags()
  if config.mode == "summary":
    print(summarize(config))
    return
  if not FLAGS.workdir:
    raise UsageError("--workdir is required: the directory for checkpoints, metrics and plots")
  if config.mode == "augment_preview":
    print(f"wrote {augment_preview(config, FLAGS.workdir)}")
    return
  if config.mode == "ensemble":
    report = ensemble.evaluate_ensemble(config, FLAGS.workdir, FLAGS.ensemble)
    for member in report["members"]:
      print(f"member {member['workdir']}@{member['step']}: " +
            " ".join(f"{k}={v:.4f}" for k, v in member.items() if isinstance(v, float)))
    print("ensemble: " + " ".join(f"{k}={v:.4f}" for k, v in report.items() if k.startswith("ensemble_")))
    return
  if config.mode == "eval":
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in loop.evaluate_checkpoint(config, FLAGS.workdir).items()))
    return
  result = loop.train_and_evaluate(config, FLAGS.workdir)
  print("final: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(result["final"].items())))
  print(f"trained {result['steps_run']} steps in {result['train_s']:.1f}s; params {result['params_count']:,}; "
        f"fingerprint {result['params_fingerprint'][:16]}")
  print(f"results in {os.path.abspath(FLAGS.workdir)}: summary.json, metrics.jsonl, plots/, checkpoints/ "
        f"(TensorBoard: tensorboard --logdir {FLAGS.workdir})")


def _main_reporting_errors(argv: list[str]) -> None:
  try:
    main(argv)
  except UsageError as e:
    print(f"jaxdl: error: {e}", file=sys.stderr)
    sys.exit(2)
  except loop.TrainingStopped as e:
    print(f"jaxdl: {e}", file=sys.stderr)
    sys.exit(e.exit_code)


def run() -> None:
  """Console-script entry point."""
  jax.config.update("jax_compilation_cache_dir", os.path.expanduser("~/.cache/jaxdl/xla"))
  parallel.initialize_distributed()
  app.run(_main_reporting_errors, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
