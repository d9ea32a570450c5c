"""Attention rollout (Abnar & Zuidema, 2020): how much each input token flows into each output token through
all the layers, reading attention as a mixing matrix and the residual connection as half of it."""

import re

import jax.numpy as jnp


def attention_rollout(layers):
  """layers: each layer's attention weights (B, heads, T, T), first layer first -> (B, T, T).

  Per layer the heads' mean plus the identity (the residual path), rows renormalized; the layers' product."""
  rollout = None
  for weights in layers:
    mixing = weights.mean(axis=1) + jnp.eye(weights.shape[-1])
    mixing = mixing / mixing.sum(axis=-1, keepdims=True)
    rollout = mixing if rollout is None else mixing @ rollout
  return rollout


def sown_layers(intermediates, name: str = "attention_weights") -> list:
  """Every array sown as `name`, in layer order (layers_2 before layers_10), a scanned stack's (layers, ...)
  array split into its layers."""
  found = []

  def visit(tree, path):
    for key, value in tree.items():
      if key == name:
        found.append((path, value[0]))
      elif isinstance(value, dict):
        visit(value, (*path, key))

  visit(dict(intermediates), ())
  natural = lambda path: [[int(p) if p.isdigit() else p for p in re.split(r"(\d+)", part)]  # noqa: E731
                          for part in path]
  out = []
  for path, value in sorted(found, key=lambda item: natural(item[0])):
    out += list(value) if value.ndim == 5 else [value]
  return out
