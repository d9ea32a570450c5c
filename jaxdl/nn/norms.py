"""Normalization layers by name, with torchvision's conventions so parameter counts and statistics match.

BatchNorm keeps running statistics with momentum 0.9 (torch's 0.1) and eps 1e-5. Under `jax.jit`
over a Mesh the batch axis is global, so its statistics already cover every device; under `pmap`
pass `axis_name` to average them across devices.
"""


import flax.linen as nn

from jaxdl.registry import Registry

norms = Registry("norm")


def batch_norm(train: bool, axis_name: str | None = None, epsilon: float = 1e-5, **kwargs) -> nn.Module:
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=epsilon, axis_name=axis_name, **kwargs)


norms.register("batch", batch_norm)
norms.register("layer", lambda train, axis_name=None, **kw: nn.LayerNorm(epsilon=1e-5, **kw))
norms.register("instance", lambda train, axis_name=None, **kw: nn.InstanceNorm(epsilon=1e-5, **kw))
norms.register("group", lambda train, axis_name=None, **kw: nn.GroupNorm(num_groups=32, epsilon=1e-5, **kw))

