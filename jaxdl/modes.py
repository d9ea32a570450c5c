"""What `--mode` runs: one table entry per mode, each `(config, workdir) -> the text to print`.

A new mode is one function and one `MODES` entry; `main.py` only dispatches.
"""

import dataclasses
import inspect
import os
from collections.abc import Callable

import jax
import numpy as np

from jaxdl import classic, data, lr_find, probes, registry
from jaxdl.analysis import summary as model_summary
from jaxdl.config import Config
from jaxdl.data import augment
from jaxdl.errors import UsageError
from jaxdl.tasks import contract
from jaxdl.train import ensemble, loop, plots, scaling as scaling_lib
from jaxdl.train import state as state_lib
from jaxdl.train.setup import build_task


def train(config: Config, workdir: str) -> str:
  result = loop.train_and_evaluate(config, workdir)
  return "\n".join([
      "final: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(result["final"].items())),
      f"trained {result['steps_run']} steps in {result['train_s']:.1f}s; params {result['params_count']:,}; "
      f"fingerprint {result['params_fingerprint'][:16]}",
      f"results in {os.path.abspath(workdir)}: summary.json, metrics.jsonl, plots/, checkpoints/ "
      f"(TensorBoard: tensorboard --logdir {workdir})"])


def evaluate(config: Config, workdir: str) -> str:
  return " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in loop.evaluate_checkpoint(config, workdir).items())


def sample(config: Config, workdir: str, count: int = 8) -> str:
  """Samples from the best checkpoint (by the validation monitor), through the task's `sample_fn`; the options
  dataclass its signature names is filled from the flags of the same names (--prompt, --temperature, ...).
  Conditional tasks decode from the first `count` test examples; images come back as plots/samples.png."""
  task_cls = registry.tasks.get(config.task)
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  options_cls = inspect.signature(task_cls.sample_fn).parameters["options"].default.__class__
  options = options_cls(**{f.name: getattr(config, f.name if f.name != "length" else "sample_length")
                           for f in dataclasses.fields(options_cls)})
  samples = setup.task.sample_fn(state_lib.eval_params(state), state.model_state, jax.random.PRNGKey(config.seed),
                                 workdir, options, setup.dataset.first_examples(count)[1])
  if samples.images is None:
    return samples.text
  paths = plots.sample_grids(os.path.join(workdir, "plots"), samples, f"step {step}")
  return "\n".join([samples.text, *(f"wrote {path}" for path in paths)])


def quality(config: Config, workdir: str) -> str:
  """The metrics a task computes once after training (`final_metrics`: sample quality under
  --task_args judge=jaxdl:NAME or RUN_DIR), for the best checkpoint under this command's task settings: e.g. one trained
  diffusion model scored with DDPM and then with DDIM."""
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  metrics = setup.task.final_metrics(state_lib.eval_params(state), state.model_state, setup.dataset,
                                     jax.random.PRNGKey(config.seed))
  if not metrics:
    raise UsageError(f"--mode=quality: --task={config.task} computed nothing; give it a judge "
                     "(--task_args=judge=jaxdl:digits, the shipped digits judge, or judge=RUN_DIR, a trained classifier's "
                     "workdir)")
  return f"step {step}: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))


def attention_maps(config: Config, workdir: str, count: int = 4) -> str:
  """A PNG of what the best checkpoint attends to on the first `count` test examples (tasks with
  `attention_maps(params, model_state, batch, workdir) -> contract.AttentionMaps`)."""
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  split, examples = setup.dataset.first_examples(count)
  result = setup.task.attention_maps(state_lib.eval_params(state), state.model_state, examples, workdir)
  path = os.path.join(workdir, "plots", "attention_maps.png")
  title = f"attention of step {step} on the first {len(result.maps)} {split} examples"
  if result.images is not None:
    path = plots.overlays(path, result.images, result.maps, title, result.captions)
  else:
    path = plots.heatmaps(path, result.maps, result.row_labels, result.column_labels, f"{title} (rows: outputs)")
  return f"wrote {path}"


def summarize(config: Config, workdir: str) -> str:
  """Per-layer output shapes, parameters and multiply-adds at the data's image size."""
  del workdir
  dataset = data.load(config.data, config.data_args, config.seed)
  if "image" not in dataset.example_shapes:
    raise UsageError(f"--mode=summary tables image models; --data={config.data} has no images")
  image_shape = dataset.example_shapes["image"]
  task = build_task(config, dataset.num_classes)

  def init(model, rng, images):  # through the task, which knows what else its model takes (a step, a label)
    return dataclasses.replace(task, model=model).init(rng, {"image": images, "label": np.zeros((1,), np.int32)})

  rows = model_summary.layers(task.model, image_shape, init)
  params = jax.eval_shape(lambda rng, x: init(task.model, rng, x), jax.random.PRNGKey(0),
                          jax.ShapeDtypeStruct((1, *image_shape), np.float32))["params"]
  total = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  return f"{config.model} on {config.data} {image_shape}\n" + model_summary.format_table(rows, total)


def augment_preview(config: Config, workdir: str) -> str:
  """4 training images, each followed by 7 augmented versions of it, as one PNG grid."""
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
  path = plots.image_grid(os.path.join(workdir, "plots", "augment_preview.png"), np.stack(rows),
                          f"--augment={config.augment} (first column: original)")
  return f"wrote {path}"


def ensemble_eval(config: Config, workdir: str) -> str:
  report = ensemble.evaluate_ensemble(config, workdir, config.ensemble)
  lines = [f"member {m['workdir']}@{m['step']}: " + " ".join(f"{k}={v:.4f}" for k, v in m.items()
                                                             if isinstance(v, float)) for m in report["members"]]
  return "\n".join(lines + ["ensemble: " + " ".join(f"{k}={v:.4f}" for k, v in report.items()
                                                    if k.startswith("ensemble_"))])


def scaling(config: Config, workdir: str) -> str:
  report = scaling_lib.run(config, workdir)["scaling"]
  lines = [f"{m['width']}x{m['depth']}: N={m['non_embedding_params']:,} val_loss={m['val_loss']:.4f}"
           for m in report["members"]]
  fit = report["fit"]
  return "\n".join(lines + [f"L(N) = (N_c / N)^alpha: alpha={fit['alpha']:.4f} N_c={fit['n_c']:.4g}",
                            f"results in {os.path.abspath(workdir)}: summary.json, plots/scaling.png, members/"])


@dataclasses.dataclass(frozen=True)
class Mode:
  """`run(config, workdir)` -> the text to print; `needs`: the task abilities (jaxdl.tasks.contract Protocols
  with methods only) it reads beyond `Task`, checked by `check_needs` before it runs."""

  run: Callable[..., str]
  help: str
  needs_workdir: bool = True
  needs: tuple[type, ...] = ()


# What a task that lacks an ability is, in the error line.
LACKING = {
    contract.Sampler: "does not generate samples",
    contract.FinalMetrics: "has no metrics beyond its evaluation (--mode=eval)",
    contract.DrawsAttention: "has no attention to draw",
    contract.Ensembles: "has no way to combine its runs' predictions",
    contract.Classifier: "is not an image classifier (this mode reads one's run)",
}

MODES = {
    "train": Mode(train, "train (resumes if the workdir has checkpoints)"),
    "eval": Mode(evaluate, "evaluate the latest checkpoint"),
    "sample": Mode(sample, "draw samples from the best checkpoint (tasks that generate)", needs=(contract.Sampler,)),
    "summary": Mode(summarize, "per-layer table of the model", needs_workdir=False),
    "quality": Mode(quality, "score the best checkpoint's samples (--task_args judge=jaxdl:NAME or RUN_DIR)",
                    needs=(contract.FinalMetrics,)),
    "attention_maps": Mode(attention_maps, "a PNG of the best checkpoint's attention on a few test examples",
                           needs=(contract.DrawsAttention,)),
    "augment_preview": Mode(augment_preview, "a PNG grid of augmented training samples"),
    "ensemble": Mode(ensemble_eval, "average the predictions of several checkpoints (--ensemble)",
                     needs=(contract.Ensembles,)),
    "scaling": Mode(scaling, "train one run per --scaling size and fit the power law L(N)"),
    "lr_find": Mode(lr_find.lr_find, "the LR range test: loss against an exponentially growing rate, a suggested lr"),
    "knn_eval": Mode(probes.knn_eval, "k-nearest-neighbour test accuracy of a classifier's penultimate features",
                     needs=(contract.Classifier,)),
    "hessian": Mode(probes.hessian, "extreme Hessian eigenvalues of a classifier's loss at its best checkpoint",
                    needs=(contract.Classifier,)),
    "attack": Mode(probes.attack, "a classifier's test accuracy under FGSM and PGD against epsilon",
                   needs=(contract.Classifier,)),
    "perceptron": Mode(classic.perceptron, "Rosenblatt's perceptron on two classes: its updates against the bound"),
    "knn": Mode(classic.knn, "k nearest neighbours on the pixels, k and distance by cross-validation"),
    "least_squares": Mode(classic.least_squares, "the closed-form linear classifier and its class templates"),
    "explain": Mode(probes.explain, "a PNG of what a classifier looks at (--method, --layer)",
                    needs=(contract.Classifier,)),
}


def check_needs(name: str, task: str) -> None:
  """One line naming the mode, the task and the ability it lacks, before anything is built or read."""
  task_cls = registry.tasks.get(task)
  for need in MODES[name].needs:
    if not issubclass(task_cls, need):
      members = [m for m in vars(need) if not m.startswith("_") and not hasattr(task_cls, m)]
      raise UsageError(f"--mode={name}: task {task!r} {LACKING[need]} (it has no {', '.join(members)}: "
                       f"jaxdl.tasks.contract.{need.__name__})")
