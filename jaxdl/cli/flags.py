"""Every jaxdl flag, defined once and grouped; choices are checked when flags are parsed.

Defaults come from `jaxdl.config.Config`, so the CLI and the library agree.
"""

import dataclasses
import typing

from absl import flags

import jaxdl.models  # noqa: F401  (registers the models, whose names are the --model choices)
import jaxdl.optim  # noqa: F401  (registers the optimizers and schedules)
import jaxdl.tasks  # noqa: F401
from jaxdl import registry
from jaxdl.config import ESCAPED, Config, unescape
from jaxdl.modes import MODES as RUN_MODES
from jaxdl.nn import matmul_conv
from jaxdl.nn.transformer import RematPolicy
from jaxdl.parallel import MODES
from jaxdl.modes.probes import EXPLAIN_METHODS
from jaxdl.train.setup import DTYPES

_D = Config()

# Where and what
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics, plots and summary.json.")
flags.DEFINE_enum("mode", _D.mode, list(RUN_MODES), "; ".join(f"{name}: {m.help}" for name, m in RUN_MODES.items()))
flags.DEFINE_string("ensemble", _D.ensemble, "--mode=ensemble members: DIR[:STEP],DIR,... (runs of this model; latest "
                    "checkpoint unless STEP); empty: every checkpoint kept in --workdir (a snapshot ensemble).")
flags.DEFINE_string("scaling", _D.scaling, "--mode=scaling sizes WIDTH:DEPTH,...: one run of the model per size "
                    "(its width and num_layers replaced), then the power law L(N) fitted to their validation losses.")
flags.DEFINE_string("data", _D.data, "digits | idx:DIR (MNIST-format files) | tfds:NAME (a prepared TFDS set).")
flags.DEFINE_string("data_args", _D.data_args, "key=value,... for the data source, e.g. pad_to=32.")
flags.DEFINE_string("augment", _D.augment, "Training-batch augmentations in order, e.g. flip,crop=4,mixup=0.2 "
                    "(flip, crop, jitter, rotate, randaugment, mixup, cutmix).")
flags.DEFINE_enum("model", _D.model, registry.models.names(), "Model by registered name.")
flags.DEFINE_string("model_args", _D.model_args, "key=value,... for the model's fields, e.g. depth=3,width=512.")
flags.DEFINE_enum("task", _D.task, registry.tasks.names(), "Task by registered name.")
flags.DEFINE_string("task_args", _D.task_args, "key=value,... for the task, e.g. loss=hinge,label_smoothing=0.1.")

# Optimization
flags.DEFINE_enum("optim", _D.optim, registry.optimizers.names(), "Optimizer (optax, configured as in the notes).")
flags.DEFINE_string("optim_args", _D.optim_args, "key=value,... for the optimizer, e.g. momentum=0.95 or b2=0.98.")
flags.DEFINE_float("lr", _D.lr, "Peak learning rate (> 0).")
flags.register_validator("lr", lambda lr: lr > 0, "--lr must be > 0 (a negative rate would ascend the loss)")
flags.DEFINE_integer("lr_batch_size", _D.lr_batch_size, "The linear scaling rule (Goyal et al., 2017): --lr is the "
                     "rate for batches of this size, and --batch_size gets lr * batch_size / lr_batch_size (0: off).",
                     lower_bound=0)
flags.DEFINE_enum("schedule", _D.schedule, registry.schedules.names(), "Learning-rate schedule after warmup.")
flags.DEFINE_string("schedule_args", _D.schedule_args, "key=value,... for the schedule, e.g. decay_rate=0.1.")
flags.DEFINE_integer("warmup_steps", _D.warmup_steps, "Linear warmup from 0 over this many steps.", lower_bound=0)
flags.DEFINE_float("weight_decay", _D.weight_decay, "Decoupled for adamw, L2 gradient term otherwise.", lower_bound=0)
flags.DEFINE_float("clip_norm", _D.clip_norm, "Clip gradients to this global norm (0: off; below 0: the model's "
                   "default, 1.0 for recurrent models and off otherwise).")
flags.DEFINE_integer("grad_accum_steps", _D.grad_accum_steps, "Average gradients over this many steps per update.",
                     lower_bound=1)
flags.DEFINE_float("ema_decay", _D.ema_decay, "Evaluate, checkpoint-rank and sample with a moving average of the "
                   "parameters, updated after each step with this decay (0: off; DDPM used 0.9999).", lower_bound=0,
                   upper_bound=0.999999999)
flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch size (split over devices).", lower_bound=1)
flags.DEFINE_integer("steps", _D.steps, "Training steps.", lower_bound=1)
flags.DEFINE_integer("seed", _D.seed, "Root seed: init, dropout, data order and splits.", lower_bound=0,
                     upper_bound=2**31 - 1)

# Cadences
flags.DEFINE_integer("log_every", _D.log_every, "Write train metrics every N steps.", lower_bound=1)
flags.DEFINE_integer("eval_every", _D.eval_every, "Evaluate every N steps (0: at the end only).", lower_bound=0)
flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Checkpoint every N steps (and at the end).",
                     lower_bound=1)
flags.DEFINE_integer("keep_checkpoints", _D.keep_checkpoints, "Keep the last N checkpoints, plus the best.",
                     lower_bound=1)
flags.DEFINE_integer("early_stop_patience", _D.early_stop_patience, "Stop after N evaluations without improving the "
                     "monitored eval metric and restore the best checkpoint (0: off).", lower_bound=0)

# Devices and numerics
flags.DEFINE_string("mesh", _D.mesh, "Device mesh axes data, fsdp, tensor, e.g. data=-1 or data=4,fsdp=2.")
flags.DEFINE_enum("parallel_mode", _D.parallel_mode, list(MODES), "jit over a Mesh, or classic pmap.")
flags.DEFINE_enum("dtype", _D.dtype, list(DTYPES), "Compute dtype; parameters stay float32.")
flags.DEFINE_enum("conv_impl", _D.conv_impl, list(matmul_conv.IMPLS), "Convolutions: auto (matmul on CPU, lax "
                  "elsewhere), lax (lax.conv_general_dilated: cuDNN, TPU), matmul (per layer: im2col matrix products, "
                  "or lax's forward pass with im2col's weight gradient, whichever XLA's CPU backend runs faster), "
                  "im2col or mixed (that formulation for every layer).")
flags.DEFINE_enum("remat", _D.remat, ["", *typing.get_args(RematPolicy)],
                  "Transformer stacks: what each layer recomputes in the backward pass instead of storing (full: all "
                  "but its input; dots: all but matrix products; dots_no_batch: all but the weight matmuls; none; "
                  "empty: the model's remat setting).")
flags.DEFINE_bool("deterministic", _D.deterministic, "Deterministic GPU kernels (XLA's --xla_gpu_deterministic_ops): "
                  "two runs on the same GPU give the same bits, somewhat slower; CPU runs are deterministic anyway.")
flags.DEFINE_string("compile_cache", "", "Directory of JAX's persistent compilation cache (empty: "
                    "$JAX_COMPILATION_CACHE_DIR, else ~/.cache/jaxdl/xla).")

# Multi-host (one process per host or GPU; SLURM, TPU VMs and JAX_COORDINATOR_ADDRESS set these themselves)
flags.DEFINE_string("coordinator", "", "HOST:PORT of process 0, which coordinates a multi-host run.")
flags.DEFINE_integer("num_processes", 0, "Processes in the multi-host run (with --coordinator).", lower_bound=0)
flags.DEFINE_integer("process_id", -1, "This process's index, 0 to --num_processes - 1 (with --coordinator).")
flags.DEFINE_integer("heartbeat_timeout", 100, "Seconds without a heartbeat after which a multi-host run counts a "
                     "process as dead and stops the others.", lower_bound=1)

# Sampling (--mode=sample)
flags.DEFINE_string("prompt", _D.prompt, "--mode=sample: the text that samples continue (\\n, \\t, \\\\: a "
                    "newline, a tab, a backslash).")
flags.DEFINE_integer("sample_length", _D.sample_length, "--mode=sample: tokens to draw.", lower_bound=1)
flags.DEFINE_float("temperature", _D.temperature, "--mode=sample: divide logits by this (0: greedy).", lower_bound=0)
flags.DEFINE_integer("top_k", _D.top_k, "--mode=sample: draw among the k most likely tokens (0: all).", lower_bound=0)
flags.DEFINE_float("top_p", _D.top_p, "--mode=sample: draw among the fewest most likely tokens whose probability "
                   "reaches p (1: all).", lower_bound=0, upper_bound=1)
flags.register_validator("top_p", lambda p: p > 0, "--top_p must be in (0, 1]")
flags.DEFINE_integer("beam", _D.beam, "--mode=sample: beam width of tasks that decode from an input (captions, "
                     "seq2seq; 1: greedy).", lower_bound=1)

# Pictures of a trained classifier (--mode=explain)
flags.DEFINE_enum("method", _D.method, list(EXPLAIN_METHODS), "--mode=explain: saliency (|dS_y/dx|), cam (class "
                  "activation map), gradcam, classviz (the image each class scores highest) or inversion (images "
                  "rebuilt from --layer's output).")
flags.DEFINE_string("layer", _D.layer, "--mode=explain: the layer (a flax path as --mode=summary lists it, e.g. "
                    "layer4/block1) that cam, gradcam and inversion read; empty: the last layer with a spatial output.")


def config_from_flags() -> Config:
  """The Config that the parsed flags describe."""
  values = flags.FLAGS.flag_values_dict()
  return Config(**{f.name: unescape(values[f.name]) if f.name in ESCAPED else values[f.name]
                   for f in dataclasses.fields(Config)})
