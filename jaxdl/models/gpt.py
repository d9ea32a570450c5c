"""GPT (Radford et al. 2018/2019): a decoder-only Transformer language model in GPT-2's layout (nanoGPT's):
token and position embeddings, pre-LayerNorm causal blocks, a final LayerNorm, the output layer tied to the
token embedding."""

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import NonNegativeInt, PositiveInt, Probability
from jaxdl.nn import positional as pos
from jaxdl.nn.transformer import PARTITION_RULES, RematPolicy, Stack, empty_cache
from jaxdl.registry import models

POSITIONAL = ("learned", "sinusoidal", "rope", "relative")


class GPT(nn.Module):
  """`__call__(tokens (B, T), carry=None, train=False)` -> (next-token logits (B, T, V) in float32, carry).

  `carry` is a KV cache (`initial_carry(batch, max_length)`): the tokens are then appended to what it holds and
  attend to all of it (one-token steps for generation); None runs a plain causal pass over `tokens`.
  """

  num_classes: PositiveInt = 65  # the vocabulary size, from the data
  num_layers: PositiveInt = 4
  num_heads: PositiveInt = 4
  num_kv_heads: NonNegativeInt = 0  # 0: num_heads (multi-head); 1: multi-query; a divisor of num_heads: grouped-query
  width: PositiveInt = 128
  context: PositiveInt = 256  # the longest sequence (learned position table, KV cache)
  dropout: Probability = 0.0
  positional: str = "learned"  # learned | sinusoidal | rope | relative (a learned bias per head and distance)
  scan: bool = False  # True: one compiled layer body for all layers (compiles faster, steps slower: Stack)
  remat: RematPolicy = "none"  # what each layer recomputes in the backward pass instead of storing it
  dtype: Any = jnp.float32

  recurrent: ClassVar[bool] = False  # the carry is a cache, not a state to carry across training windows
  partition_rules: ClassVar[tuple] = PARTITION_RULES  # heads and MLP units over --mesh's tensor axis

  def __post_init__(self):
    if self.positional not in POSITIONAL:
      raise ValueError(f"positional={self.positional!r}: choose one of {', '.join(POSITIONAL)}")
    if self.width % self.num_heads:
      raise ValueError(f"width={self.width} is not a multiple of num_heads={self.num_heads}")
    super().__post_init__()

  @property
  def head_dim(self) -> int:
    return self.width // self.num_heads

  @nn.nowrap
  def initial_carry(self, batch_size: int, max_length: int | None = None) -> dict:
    """An empty KV cache for `max_length` tokens (the context by default)."""
    return empty_cache(batch_size, self.num_layers, max_length or self.context, self.num_kv_heads or self.num_heads,
                       self.head_dim, self.dtype)

  @nn.compact
  def __call__(self, tokens, carry=None, train: bool = False):
    length = tokens.shape[1]
    start = jnp.zeros((tokens.shape[0],), jnp.int32) if carry is None else carry["index"]
    positions = start[:, None] + jnp.arange(length)
    embed = nn.Embed(self.num_classes, self.width, embedding_init=nn.initializers.normal(0.02), dtype=self.dtype,
                     name="token_embedding")
    x = pos.add_absolute(embed(tokens), self.positional, positions, self.context)
    bias = None
    if self.positional == "relative":
      keys = jnp.arange(length if carry is None else carry["key"].shape[2])
      bias = pos.RelativePositionBias(self.num_heads, 2 * self.context + 1, name="relative_bias")(
          pos.relative_index(positions, keys, self.context))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    block = dict(num_heads=self.num_heads, num_kv_heads=self.num_kv_heads or None, dropout=self.dropout,
                 rope=self.positional == "rope", dtype=self.dtype)
    x, carry = Stack(self.num_layers, block, scan=self.scan, remat=self.remat, train=train, name="blocks")(
        x, bias=bias, positions=positions, cache=carry, is_causal=carry is None)
    x = nn.LayerNorm(dtype=self.dtype, name="final_norm")(x)
    return embed.attend(x).astype(jnp.float32), carry


def train_flops_per_token(model: GPT, num_params: int) -> float:
  """Training FLOPs per token (forward + backward = 3 x forward; Kaplan et al. 2020, as nanoGPT counts them):
  6 per parameter (the position table excluded: it is looked up, not multiplied) plus the attention's
  Q K^T and weights x V, 12 x layers x width x context."""
  position_table = model.context * model.width if model.positional == "learned" else 0
  return 6.0 * (num_params - position_table) + 12.0 * model.num_layers * model.width * model.context


models.register("gpt", GPT)
