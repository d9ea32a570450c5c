"""summary.json: the run's final metrics, timing, size, parameter fingerprint and provenance."""

import hashlib
import json
import os
import subprocess

import flax
import jax
import numpy as np

import jaxdl


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


def provenance() -> dict:
  return {
      "device": f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})",
      "versions": {"jaxdl": jaxdl.__version__, "jax": jax.__version__, "flax": flax.__version__},
      "git_revision": git_revision(),
  }


def write_summary(workdir: str, summary: dict) -> str:
  path = os.path.join(workdir, "summary.json")
  with open(path + ".tmp", "w") as f:
    json.dump(summary, f, indent=2, sort_keys=True)
  os.replace(path + ".tmp", path)  # never leaves a half-written summary
  return path
