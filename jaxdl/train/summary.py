"""summary.json: the run's final metrics, timing, size, parameter fingerprint and provenance."""

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess

import jax
import numpy as np

import jaxdl
from jaxdl.nn import matmul_conv

# The packages whose versions decide the bits a run produces (with the hardware and XLA_FLAGS).
PACKAGES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "grain", "numpy")


def params_fingerprint(params) -> str:
  """sha256 over the parameter bytes in tree order: equal fingerprints mean bit-identical models."""
  digest = hashlib.sha256()
  for leaf in jax.tree.leaves(jax.device_get(params)):
    digest.update(np.ascontiguousarray(leaf).tobytes())
  return digest.hexdigest()


def git_revision() -> str | None:
  """The jaxdl checkout's commit, or None outside a git checkout."""
  here = os.path.dirname(os.path.abspath(jaxdl.__file__))
  try:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
  except (OSError, subprocess.TimeoutExpired):
    return None
  return out.stdout.strip() or None


def cpu_model() -> str:
  """The CPU's model name: floating-point results may differ between CPU models (vector units, XLA's choices)."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def provenance() -> dict:
  """What identifies the bits of a run: same flags on the same hardware, versions and XLA_FLAGS give the same."""
  return {
      "device": f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})",
      "cpu": cpu_model(),
      "xla_flags": os.environ.get("XLA_FLAGS", ""),
      "conv_impl": matmul_conv.resolved(),
      "versions": {"jaxdl": jaxdl.__version__, **{p: importlib.metadata.version(p) for p in PACKAGES}},
      "git_revision": git_revision(),
  }


def write_summary(workdir: str, summary: dict) -> str:
  path = os.path.join(workdir, "summary.json")
  with open(path + ".tmp", "w") as f:
    json.dump(summary, f, indent=2, sort_keys=True)
  os.replace(path + ".tmp", path)  # never leaves a half-written summary
  return path
