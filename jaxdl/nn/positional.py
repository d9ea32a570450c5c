"""Position information for attention, which by itself is blind to order: sinusoidal and learned absolute
encodings, rotary embeddings (RoPE) and a learned relative position bias.
"""

import flax.linen as nn
import jax.numpy as jnp


def sinusoidal(positions, dim: int, base: float = 10_000.0):
  """The notes' (Vaswani et al.) encoding, (..., dim): PE(pos, 2i) = sin(pos / base^(2i/dim)),
  PE(pos, 2i+1) = cos(pos / base^(2i/dim))."""
  angles = jnp.asarray(positions, jnp.float32)[..., None] / base ** (jnp.arange(0, dim, 2) / dim)
  return jnp.stack([jnp.sin(angles), jnp.cos(angles)], axis=-1).reshape(*angles.shape[:-1], -1)[..., :dim]


class LearnedPositional(nn.Module):
  """A learned vector per position (GPT-2, BERT, ViT), added to the inputs."""

  max_length: int
  init_stddev: float = 0.02

  @nn.compact
  def __call__(self, x, positions=None):
    table = self.param("embedding", nn.initializers.normal(self.init_stddev), (self.max_length, x.shape[-1]))
    positions = jnp.arange(x.shape[-2]) if positions is None else positions
    return x + jnp.take(table, positions, axis=0).astype(x.dtype)


def add_absolute(x, kind: str, positions, max_length: int):
  """x (..., T, D) plus its positions' encoding for an absolute `kind`: "learned" (a `LearnedPositional` named
  position_embedding in the calling module; call this from a compact method) or "sinusoidal". Other kinds
  (rope, relative) act inside attention: x comes back as it is."""
  if kind == "learned":
    return LearnedPositional(max_length, name="position_embedding")(x, positions)
  if kind == "sinusoidal":
    return x + sinusoidal(positions, x.shape[-1]).astype(x.dtype)
  return x


def rope(x, positions, base: float = 10_000.0):
  """Rotary position embedding of x (B, T, N, H) at `positions` (B, T) or (T,): each pair (x_i, x_{i+H/2}) is
  rotated by the angle position * base^(-2i/H), so that the dot product of a query at m and a key at n depends
  on m - n only."""
  half = x.shape[-1] // 2
  angles = jnp.asarray(positions, jnp.float32)[..., None] / base ** (jnp.arange(half) / half)  # (B|, T, H/2)
  angles = jnp.broadcast_to(angles, (*x.shape[:2], half))[:, :, None, :]
  cos, sin = jnp.cos(angles), jnp.sin(angles)
  x1, x2 = x[..., :half].astype(jnp.float32), x[..., half:].astype(jnp.float32)
  return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).astype(x.dtype)


def relative_index(query_positions, key_positions, max_distance: int):
  """Indices (..., T, S) into a relative-position table of 2 * max_distance + 1 rows: key - query position,
  clipped. Positions (T,) and (S,), or with a leading batch axis."""
  distance = jnp.asarray(key_positions)[..., None, :] - jnp.asarray(query_positions)[..., :, None]
  return jnp.clip(distance, -max_distance, max_distance) + max_distance


class RelativePositionBias(nn.Module):
  """A learned scalar per head for each relative position (T5, Swin): `__call__(index (T, S) or (B, T, S))` -> the
  attention bias (1 or B, heads, T, S), where `index` picks rows of the table (`relative_index`, or Swin's 2-D
  index)."""

  num_heads: int
  num_buckets: int

  @nn.compact
  def __call__(self, index):
    table = self.param("table", nn.initializers.truncated_normal(0.02), (self.num_buckets, self.num_heads))
    bias = jnp.moveaxis(table[index], -1, -3)
    return bias if bias.ndim == 4 else bias[None]
