"""`--mode=sample` and `--mode=quality`: what a trained generator draws, and how good its samples are."""

import dataclasses
import inspect
import os

import jax

from jaxdl import registry
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots
from jaxdl.train import state as state_lib


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
                     "(--task_args=judge=jaxdl:digits, the shipped digits judge, or judge=RUN_DIR, a trained "
                     "classifier's workdir)")
  return f"step {step}: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
