"""Builds a run's pieces (data, model, task, optimizer, devices) from a Config, by registry name."""

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

import jaxdl.models  # noqa: F401  (registers the model families)
import jaxdl.tasks  # noqa: F401  (registers the tasks)
from jaxdl import args, data, judges, optim, parallel, registry
from jaxdl.analysis import features
from jaxdl.config import Config, load_flagfile
from jaxdl.data import augment
from jaxdl.data.source import Dataset
from jaxdl.errors import UsageError
from jaxdl.nn import matmul_conv
from jaxdl.tasks import contract
from jaxdl.train import state as state_lib
from jaxdl.train import checkpoint

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


@dataclasses.dataclass(frozen=True)
class Setup:
  dataset: Dataset
  task: Any
  tx: optax.GradientTransformation
  parallel: Any
  augment: Callable | None = None  # (key, batch) -> batch, run inside the jitted train step


def build_task(config: Config, num_classes: int, norm_axis_name: str | None = None):
  """The task around the model `--model` with `--model_args`, computing in `--dtype`.

  `norm_axis_name` (pmap's axis) lets BatchNorm average its statistics across devices.
  """
  model_cls = registry.models.get(config.model)
  model_kwargs = args.parse(config.model_args, model_cls, "model_args")
  fields = args.parameters(model_cls)
  if "dtype" in fields:
    model_kwargs.setdefault("dtype", DTYPES[config.dtype])
  if config.remat:
    if "remat" not in fields:
      raise UsageError(f"--remat={config.remat}: --model={config.model} has no rematerialized layer stack (the "
                       "Transformer families do)")
    model_kwargs["remat"] = config.remat
  if "num_classes" in fields:
    if "num_classes" in model_kwargs:
      raise UsageError("--model_args: num_classes comes from the data (--data_args=num_classes=N where the "
                       "source has it)")
    model_kwargs["num_classes"] = num_classes
  if "norm_axis_name" in fields:
    model_kwargs["norm_axis_name"] = norm_axis_name
  model = model_cls(**model_kwargs)
  if getattr(model, "remat", "none") != "none" and not getattr(model, "scan", True) and jax.default_backend() == "cpu":
    logging.warning("remat=%s saves no memory on an unrolled layer stack on CPU (XLA:CPU computes the layers' "
                    "recomputation early; make bench-compile): add scan=true to --model_args", model.remat)
  task_cls = registry.tasks.get(config.task)
  task = task_cls(model=model, num_classes=num_classes, **args.parse(config.task_args, task_cls, "task_args"))
  contract.check(task)
  return task


def effective_lr(config: Config) -> float:
  """--lr, or under --lr_batch_size=B Goyal et al.'s linear scaling rule: --lr is the rate for batches of B, and
  a batch of --batch_size gets lr * batch_size / B."""
  return config.lr * config.batch_size / config.lr_batch_size if config.lr_batch_size else config.lr


def build_optimizer(config: Config) -> optax.GradientTransformation:
  if config.grad_accum_steps < 1:
    raise UsageError(f"--grad_accum_steps must be >= 1, got {config.grad_accum_steps}")
  updates = config.steps // config.grad_accum_steps  # the schedule counts optimizer updates
  schedule_fn = registry.schedules.get(config.schedule)
  schedule = optim.schedule(config.schedule, effective_lr(config), updates,
                            config.warmup_steps // config.grad_accum_steps,
                            **args.parse(config.schedule_args, schedule_fn, "schedule_args"))
  clip_norm = config.clip_norm if config.clip_norm >= 0 else \
      getattr(registry.models.get(config.model), "default_clip_norm", 0.0)
  return optim.create(config.optim, schedule, weight_decay=config.weight_decay, clip_norm=clip_norm,
                      accumulate_steps=config.grad_accum_steps, **optim.optimizer_args(config.optim, config.optim_args))


def build_transformation(config: Config, task) -> optax.GradientTransformation:
  """What the loop applies: the flags' optimizer, or the task's own built from it (contract.OwnsUpdate),
  averaging the parameters under --ema_decay."""
  tx = contract.optimizer(task, build_optimizer(config))
  return optim.averaged(tx, config.ema_decay) if config.ema_decay else tx


def classifier_run(run_dir: str, dataset: Dataset, role: str, needs: type = contract.Classifier) -> tuple[Config, Any]:
  """(config, task) of the jaxdl classifier run in `run_dir`, rebuilt from its flags.txt, checking what can be
  checked before reading a checkpoint: `role` (teacher, judge, classifier) names the --task_args key in errors,
  `needs` the contract Protocol its task must follow; the run must have learned from images of this dataset's shape."""
  path = os.path.join(run_dir, "flags.txt")
  if not os.path.isfile(path):
    raise UsageError(f"--task_args {role}={run_dir}: no jaxdl run there (no flags.txt); train the {role} first")
  config = load_flagfile(path)
  task = build_task(config, dataset.num_classes)
  if not isinstance(task, needs):
    raise UsageError(f"--task_args {role}={run_dir}: its task {config.task!r} is no "
                     f"jaxdl.tasks.contract.{needs.__name__}")
  taught = data.load(config.data, config.data_args, config.seed).example_shapes.get("image")
  if taught != dataset.example_shapes.get("image"):
    raise UsageError(f"--task_args {role}={run_dir} learned from {taught} images (--data={config.data} "
                     f"--data_args={config.data_args}); this run's are {dataset.example_shapes.get('image')}")
  return config, task


def restore_classifier(run_dir: str, config: Config, task, dataset: Dataset):
  """The train state of the best checkpoint (by its own validation monitor) of `classifier_run`'s run, its
  parameters on the default device."""
  sample = dataset.splits["train"].read(np.arange(1))
  create = lambda rng: state_lib.create(task, build_transformation(config, task), rng, sample)  # noqa: E731
  abstract = parallel.abstract_on_device(jax.devices()[0], create, jax.random.PRNGKey(0))
  return checkpoint.read(run_dir, abstract, f"val_{task.monitor}", task.monitor_mode, best=True)[0]


def load_classifier(run_dir: str, dataset: Dataset, role: str, needs: type = contract.Classifier):
  """(task, state) of the classifier run in `run_dir` (`classifier_run`, then `restore_classifier`)."""
  config, task = classifier_run(run_dir, dataset, role, needs)
  return task, restore_classifier(run_dir, config, task, dataset)


def load_teacher(run_dir: str, dataset: Dataset) -> Callable:
  """images -> eval-mode logits of the classifier run in `run_dir` (distillation's teacher)."""
  task, state = load_classifier(run_dir, dataset, "teacher")
  return lambda images: task.logits(state_lib.eval_params(state), state.model_state, {"image": images})


def load_judge(judge: str, dataset: Dataset) -> Callable:
  """images -> (eval-mode logits, penultimate features), jitted (what scores a generator's samples), of the shipped
  judge `jaxdl:NAME` (jaxdl.judges) or of the classifier run in the workdir `judge`."""
  if judge.startswith(judges.PREFIX):
    model, variables = judges.load(judge[len(judges.PREFIX):], dataset.example_shapes["image"])
  else:
    task, state = load_classifier(judge, dataset, "judge")
    model, variables = task.model, {"params": state_lib.eval_params(state), **state.model_state}
  return jax.jit(lambda images: features.penultimate(model, variables, images, train=False))


def load_guide(run_dir: str, dataset: Dataset, schedule) -> Callable:
  """(x_t, t, labels) -> log p(labels | x_t, t) of the noise-aware classifier run in `run_dir` (classifier
  guidance), which must have learned on the noise of `schedule` (a `jaxdl.diffusion.Schedule`)."""
  config, task = classifier_run(run_dir, dataset, "classifier", needs=contract.NoiseAwareClassifier)
  learned = task.noise_schedule
  if learned.steps != schedule.steps or not np.allclose(learned.alpha_bars, schedule.alpha_bars):
    raise UsageError(f"--task_args classifier={run_dir} learned on another noise schedule ({task.schedule}, "
                     f"{task.steps} steps); give both runs the same --task_args schedule and steps")
  params = state_lib.eval_params(restore_classifier(run_dir, config, task, dataset))
  return lambda x_t, t, labels: task.log_prob(params, x_t, t, labels)


def _check_consecutive(config: Config, dataset: Dataset) -> None:
  """A task that carries state across steps needs windows of one stream and a carry of the global batch."""
  train = dataset.splits["train"]
  if not hasattr(train, "window"):
    raise UsageError(f"--task={config.task} with carried state needs consecutive windows of one stream "
                     f"(--data=text:PATH); --data={config.data} has none")
  if config.parallel_mode == "pmap":
    raise UsageError(f"--task={config.task} with carried state runs with --parallel_mode=jit (pmap would average "
                     "each device's carried state with the others')")
  if len(train) // config.batch_size < train.window:
    raise UsageError(f"--batch_size={config.batch_size} streams of the {len(train)} training positions are shorter "
                     f"than one window of {train.window}; use a smaller batch size or window")


def build(config: Config) -> Setup:
  """Every piece of a run, checking every setting before anything is written."""
  if config.dtype not in DTYPES:
    raise UsageError(f"--dtype={config.dtype}; choose one of: {', '.join(DTYPES)}")
  try:
    matmul_conv.set_impl(config.conv_impl)  # read when the step is traced
  except ValueError as error:
    raise UsageError(f"--{error}") from None
  dataset = data.load(config.data, config.data_args, config.seed)
  if config.batch_size > len(dataset.splits["train"]):
    raise UsageError(f"--batch_size={config.batch_size} exceeds the {len(dataset.splits['train'])} training "
                     f"examples of --data={config.data}")
  strategy = parallel.create(config.parallel_mode, config.mesh, config.batch_size,
                             getattr(registry.models.get(config.model), "partition_rules", ()))
  task = build_task(config, dataset.num_classes, strategy.axis_name)
  if isinstance(task, contract.Student) and task.teacher_logits is None:
    if not task.teacher:
      raise UsageError(f"--task={config.task} needs --task_args=teacher=RUN_DIR (a trained jaxdl classifier's "
                       "workdir)")
    task = dataclasses.replace(task, teacher_logits=load_teacher(task.teacher, dataset))
  if isinstance(task, contract.Judged) and task.judge and task.judge_fn is None:
    task = dataclasses.replace(task, judge_fn=load_judge(task.judge, dataset))
  if isinstance(task, contract.Guided) and task.classifier and task.classifier_fn is None:
    task = dataclasses.replace(task, classifier_fn=load_guide(task.classifier, dataset, task.noise_schedule))
  if isinstance(task, contract.ConsecutiveBatches) and task.consecutive_batches:
    _check_consecutive(config, dataset)
  return Setup(dataset=dataset, task=task, tx=build_transformation(config, task), parallel=strategy,
               augment=augment.parse(config.augment, dataset.num_classes))
