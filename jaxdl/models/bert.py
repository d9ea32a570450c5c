"""BERT (Devlin et al. 2019): a bidirectional Transformer encoder trained as a masked language model. Token and
learned position embeddings, LayerNorm, post-LN encoder blocks (the original's), and the masked-LM head (dense,
GELU, LayerNorm, the output layer tied to the token embedding, with its own bias)."""

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.positional import add_absolute
from jaxdl.nn.transformer import PARTITION_RULES, RematPolicy, Stack
from jaxdl.registry import models


class BERT(nn.Module):
  """`__call__(tokens (B, T), train=False)` -> logits (B, T, num_classes) over the vocabulary at every position.

  The embedding has one row more than the vocabulary: `mask_id` (= num_classes) is the [MASK] token the
  masked-LM task substitutes; the output never predicts it.
  """

  num_classes: PositiveInt = 65  # the vocabulary size, from the data
  num_layers: PositiveInt = 4
  num_heads: PositiveInt = 4
  width: PositiveInt = 128
  context: PositiveInt = 256  # the longest sequence (learned position table)
  dropout: Probability = 0.1
  positional: str = "learned"  # learned (BERT's) | sinusoidal | rope (rotary, in every attention layer)
  pre_norm: bool = False  # BERT's blocks normalize after each residual sum
  scan: bool = False  # True: one compiled layer body for all layers (compiles faster, steps slower: Stack)
  remat: RematPolicy = "none"
  dtype: Any = jnp.float32

  partition_rules: ClassVar[tuple] = PARTITION_RULES  # heads and MLP units over --mesh's tensor axis

  def __post_init__(self):
    if self.positional not in ("learned", "sinusoidal", "rope"):
      raise ValueError(f"positional={self.positional!r}: choose learned, sinusoidal or rope")
    super().__post_init__()

  @property
  def mask_id(self) -> int:
    return self.num_classes

  @nn.compact
  def __call__(self, tokens, train: bool = False):
    if tokens.shape[1] > self.context:
      raise ValueError(f"sequences of {tokens.shape[1]} tokens exceed context={self.context} (--model_args)")
    embed = nn.Embed(self.num_classes + 1, self.width, embedding_init=nn.initializers.normal(0.02),
                     dtype=self.dtype, name="token_embedding")
    x = add_absolute(embed(tokens), self.positional, jnp.arange(tokens.shape[1]), self.context)
    x = nn.LayerNorm(dtype=self.dtype, name="embedding_norm")(x)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    block = dict(num_heads=self.num_heads, dropout=self.dropout, pre_norm=self.pre_norm,
                 rope=self.positional == "rope", dtype=self.dtype)
    x, _ = Stack(self.num_layers, block, scan=self.scan, remat=self.remat, train=train, name="blocks")(x)
    if self.pre_norm:
      x = nn.LayerNorm(dtype=self.dtype, name="final_norm")(x)
    h = nn.LayerNorm(dtype=self.dtype, name="head_norm")(nn.gelu(nn.Dense(self.width, dtype=self.dtype,
                                                                          name="head_dense")(x)))
    logits = embed.attend(h)[..., :self.num_classes]
    return (logits + self.param("head_bias", nn.initializers.zeros, (self.num_classes,))).astype(jnp.float32)


models.register("bert", BERT)
