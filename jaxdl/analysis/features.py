"""A classifier's penultimate-layer features: the input of its last Dense layer (the head), captured with flax's
method interception, so any registered classifier gives them without a model-specific hook.

What scores generated images (the Fréchet distance in a trained classifier's feature space) and what
nearest-neighbour evaluation of a trained network reads.
"""

import flax.linen as nn


def penultimate(model: nn.Module, variables, images, **kwargs):
  """(logits, features): the eval-mode output of `model.apply(variables, images, **kwargs)` and the input of the
  last `nn.Dense` it called, flattened to (B, D)."""
  seen = []

  def record(next_fun, args, call_kwargs, context):
    if isinstance(context.module, nn.Dense) and context.method_name == "__call__":
      seen.append(args[0])
    return next_fun(*args, **call_kwargs)

  with nn.intercept_methods(record):
    logits = model.apply(variables, images, **kwargs)
  if not seen:
    raise ValueError(f"{type(model).__name__} calls no Dense layer: it has no penultimate features to read")
  return logits, seen[-1].reshape(seen[-1].shape[0], -1)
