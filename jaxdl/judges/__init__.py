"""Judges shipped with jaxdl: trained classifiers whose weights are fixed package data, so that generated samples
are scored in one feature space on every machine, as FID fixes its Inception network.

A judge trained in each run's workdir differs from machine to machine (another CPU model rounds its training
differently), and distances are comparable only under one judge: on one 2-core AMD EPYC, two judges trained from
seeds 0 and 1 ranked the same DDPM checkpoint's DDIM and DDPM samples in opposite orders. `--task_args
judge=jaxdl:NAME` scores with the shipped judge NAME; `judge=RUN_DIR` with a classifier run of one's own.

`digits` was made by (python -m jaxdl.judges writes NAME.msgpack and NAME.json here):
  jaxdl --flagfile=experiments/digits_judge.flags --workdir=runs/digits_judge
  python -m jaxdl.judges --run=runs/digits_judge --name=digits
"""

import json
import os
import flax.linen as nn
import jax
from flax import serialization

import jaxdl.models  # noqa: F401  (registers the model families)
from jaxdl import args, registry
from jaxdl.errors import UsageError

PREFIX = "jaxdl:"  # --task_args judge=jaxdl:NAME names a shipped judge
DIRECTORY = os.path.dirname(os.path.abspath(__file__))


def names() -> list[str]:
  return sorted(f[:-len(".json")] for f in os.listdir(DIRECTORY) if f.endswith(".json"))


def paths(name: str) -> tuple[str, str]:
  """(weights, description) of the shipped judge `name`."""
  return os.path.join(DIRECTORY, f"{name}.msgpack"), os.path.join(DIRECTORY, f"{name}.json")


def load(name: str, image_shape: tuple[int, ...]) -> tuple[nn.Module, dict]:
  """(model, variables) of the shipped judge `name`; `image_shape` is the (H, W, C) of the images it will score,
  which must be the judge's."""
  if name not in names():
    raise UsageError(f"--task_args judge={PREFIX}{name}: no such shipped judge; shipped: {', '.join(names())}")
  weights, description = paths(name)
  with open(description) as f:
    about = json.load(f)
  if tuple(about["image_shape"]) != tuple(image_shape):
    raise UsageError(f"--task_args judge={PREFIX}{name} reads {tuple(about['image_shape'])} images; this run's are "
                     f"{tuple(image_shape)}")
  cls = registry.models.get(about["model"])
  model = cls(num_classes=about["num_classes"], **args.parse(about["model_args"], cls, "model_args"))
  with open(weights, "rb") as f:
    return model, jax.tree.map(jax.numpy.asarray, serialization.msgpack_restore(f.read()))
