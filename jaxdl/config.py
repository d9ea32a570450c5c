"""The resolved settings of one run: what `flags.txt` records and `train_and_evaluate` reads.

Library users and tests build a `Config` directly; the CLI builds it from absl flags.
"""

import dataclasses
import re
import shlex


@dataclasses.dataclass(frozen=True)
class Config:
  # Data, model, task
  data: str = "digits"
  data_args: str = ""
  augment: str = ""
  model: str = "lenet5"
  model_args: str = ""
  task: str = "classify"
  task_args: str = ""
  # Optimization
  optim: str = "adam"
  optim_args: str = ""
  lr: float = 1e-3
  lr_batch_size: int = 0  # > 0: --lr is the rate for batches of this size, scaled linearly to --batch_size
  schedule: str = "constant"
  schedule_args: str = ""
  warmup_steps: int = 0
  weight_decay: float = 0.0
  clip_norm: float = -1.0  # global-norm clipping; < 0: the model's default (1.0 for recurrent models, else off)
  grad_accum_steps: int = 1
  ema_decay: float = 0.0  # evaluate and sample with the parameters' moving average (0: off)
  batch_size: int = 128
  steps: int = 1000
  seed: int = 0
  # Cadences (steps; 0 = only at the end)
  log_every: int = 50
  eval_every: int = 0
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  early_stop_patience: int = 0  # evaluations without improvement before stopping (0: off)
  # Devices and numerics
  mesh: str = "data=-1"
  parallel_mode: str = "jit"
  dtype: str = "float32"
  conv_impl: str = "auto"  # convolutions: auto (matmul on CPU, lax elsewhere), lax, matmul, im2col or mixed
  remat: str = ""  # a Transformer stack's rematerialization policy (none, full, dots, dots_no_batch; "": the model's)
  deterministic: bool = False  # XLA's deterministic GPU kernels (CPU kernels are deterministic already)
  mode: str = "train"
  ensemble: str = ""  # --mode=ensemble members: DIR[:STEP],... (empty: every checkpoint kept in the workdir)
  scaling: str = ""  # --mode=scaling sizes: WIDTH:DEPTH,...
  # --mode=sample: what the task's sampler draws (a text prompt and how to pick each next token; the beam width
  # of tasks that decode from an input)
  prompt: str = "\n"
  sample_length: int = 500
  temperature: float = 1.0
  top_k: int = 0
  top_p: float = 1.0
  beam: int = 4
  # --mode=explain: which picture, and the layer that CAM, Grad-CAM and inversion read ("": the last spatial one)
  method: str = "saliency"
  layer: str = ""


# Flags a resumed run may change without changing what it computes.
RESUMABLE = frozenset({"steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "mode",
                       "ensemble", "scaling", "prompt", "sample_length", "temperature", "top_k", "top_p",
                       "beam", "method", "layer", "remat", "deterministic"})


ESCAPED = ("prompt",)  # free text, written with backslash escapes so that a newline stays on its flag's line
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def escape(text: str) -> str:
  return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def unescape(text: str) -> str:
  """`\\n`, `\\r`, `\\t` and `\\\\` as the characters they name (how --prompt takes a newline on a command line)."""
  return re.sub(r"\\([nrt\\])", lambda m: _ESCAPES[m.group(1)], text)


def to_flagfile(config: Config) -> str:
  """absl flag-file text: `jaxdl --flagfile=WORKDIR/flags.txt` reruns the same experiment."""
  return "".join(f"--{k}={escape(v) if k in ESCAPED else v}\n" for k, v in dataclasses.asdict(config).items())


def from_flagfile(text: str) -> dict[str, str]:
  """The `--name=value` pairs of a flag file, values as text."""
  out = {}
  for line in text.splitlines():
    line = line.strip()
    if line.startswith("--") and "=" in line:
      name, _, value = line[2:].partition("=")
      out[name] = value
  return out


def load_flagfile(path: str, **overrides) -> Config:
  """The Config of an experiment flag file, `overrides` replacing its values (for library use, tests and
  benchmarks; the CLI uses absl)."""
  types = {f.name: f.type for f in dataclasses.fields(Config)}
  with open(path) as f:
    values = from_flagfile(f.read())
  unknown = sorted(set(values) - set(types))
  if unknown:
    raise ValueError(f"{path}: not Config fields: {', '.join(unknown)}")
  return Config(**{**{k: unescape(v) if k in ESCAPED else types[k](v) for k, v in values.items()}, **overrides})


def differences(saved: dict[str, str], config: Config) -> list[str]:
  """Flags that differ between a workdir's flags.txt and `config`, ignoring RESUMABLE ones. A flag added to
  jaxdl after the workdir was written counts as its default there."""
  now, default = from_flagfile(to_flagfile(config)), from_flagfile(to_flagfile(Config()))
  saved = {**default, **saved}
  return [f"--{k}: workdir has {shlex.quote(saved[k])}, command has {shlex.quote(now[k])}"
          for k in now if k not in RESUMABLE and saved[k] != now[k]]
