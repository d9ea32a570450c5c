"""Transformer blocks (self-attention, optional cross-attention, MLP; pre- or post-LayerNorm) and a stack of
them, unrolled or compiled as one layer body under `nn.scan`, optionally rematerialized.

A stack's KV cache for decoding holds every layer's keys and values with the batch first, so that
`jaxdl.decode` can tile and reorder it like any other state: {"key", "value": (B, layers, max_length, K, H),
"index": (B,)}.
"""

from typing import Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.nn.attention import MultiHeadAttention
from jaxdl.nn.regularize import DropPath

# What a rematerialized layer keeps for the backward pass (the rest it recomputes): full keeps only its input
# (least memory, one extra forward pass), dots also keeps the matmul outputs (recomputes only the cheap
# elementwise ops), dots_no_batch keeps the matmuls without a batch dimension (the projections, not attention's
# scores); none stores every activation as usual.
RematPolicy = Literal["none", "full", "dots", "dots_no_batch"]
REMAT_POLICIES = {"full": jax.checkpoint_policies.nothing_saveable, "dots": jax.checkpoint_policies.dots_saveable,
                  "dots_no_batch": jax.checkpoint_policies.dots_with_no_batch_dims_saveable}

# Megatron-LM's tensor parallelism (Shoeybi et al. 2019) as a rule table for `jaxdl.parallel`: each attention
# layer's heads and each MLP's hidden units are split over the mesh's "tensor" axis, so a block needs one
# all-reduce after its attention output and one after its MLP, which XLA inserts. (path regex, axes of the
# trailing dimensions); kernels are (features, heads, head_dim) in, (heads, head_dim, features) out.
PARTITION_RULES = (
    (r"attention/(query|key|value)/kernel$", (None, "tensor", None)),
    (r"attention/(query|key|value)/bias$", ("tensor", None)),
    (r"attention/out/kernel$", ("tensor", None, None)),
    (r"mlp/fc/kernel$", (None, "tensor")),
    (r"mlp/fc/bias$", ("tensor",)),
    (r"mlp/proj/kernel$", ("tensor", None)),
)


class MLP(nn.Module):
  """Linear -> GELU -> linear, `ratio` times wider inside."""

  ratio: float = 4.0
  dropout: float = 0.0
  train: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    h = nn.gelu(nn.Dense(int(self.ratio * x.shape[-1]), dtype=self.dtype, name="fc")(x))
    h = nn.Dense(x.shape[-1], dtype=self.dtype, name="proj")(h)
    return nn.Dropout(self.dropout, deterministic=not self.train)(h)


class Block(nn.Module):
  """x + SelfAttention(LN(x)), (+ CrossAttention(LN(x), memory)), + MLP(LN(x)) with `pre_norm` (GPT-2, ViT);
  LN(x + sublayer(x)) after each sublayer otherwise (the original Transformer, BERT).

  `__call__(x, cache, context)` -> (x, cache): `cache` is this layer's {"key", "value", "index"} or None;
  `context` = (mask, bias, memory, memory_mask, positions), the same for every layer. `is_causal`: the
  self-attention is causal from position 0 (no cache; lets a fused kernel skip the masked half). `drop_path`:
  stochastic depth, each sublayer's output dropped for a whole example with that probability (ViT, Swin).
  """

  num_heads: int
  num_kv_heads: int | None = None
  mlp_ratio: float = 4.0
  dropout: float = 0.0
  drop_path: float = 0.0
  pre_norm: bool = True
  cross: bool = False
  rope: bool = False
  is_causal: bool = False
  train: bool = False
  implementation: str = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, cache, context):
    mask, bias, memory, memory_mask, positions = context
    attention = lambda name: MultiHeadAttention(  # noqa: E731
        self.num_heads, self.num_kv_heads if name == "attention" else None, dropout=self.dropout,
        rope=self.rope and name == "attention", train=self.train, implementation=self.implementation,
        dtype=self.dtype, name=name)
    norm = lambda name: nn.LayerNorm(dtype=self.dtype, name=f"{name}_norm")  # noqa: E731

    def sublayer_input(x, name):
      return norm(name)(x) if self.pre_norm else x

    def residual(x, out, name):
      out = DropPath(self.drop_path, name=f"{name}_drop_path")(out, self.train)
      return x + out if self.pre_norm else norm(name)(x + out)

    out, cache = attention("attention")(sublayer_input(x, "attention"), mask=mask, bias=bias, positions=positions,
                                        cache=cache, is_causal=self.is_causal)
    x = residual(x, out, "attention")
    if self.cross:
      out, _ = attention("cross_attention")(sublayer_input(x, "cross_attention"), memory, mask=memory_mask)
      x = residual(x, out, "cross_attention")
    mlp = MLP(self.mlp_ratio, self.dropout, self.train, self.dtype, name="mlp")
    return residual(x, mlp(sublayer_input(x, "mlp")), "mlp"), cache


class Stack(nn.Module):
  """`num_layers` Blocks. With `scan`, one compiled layer body runs num_layers times (parameters stacked on a
  leading layer axis): a deep stack compiles in about half the time, but each training step runs slower,
  because XLA zero-fills, copies and slices the stacked activations the backward pass reads (the README's
  figures), so layers are unrolled by default. `remat` (a RematPolicy) recomputes each layer's activations in
  the backward pass instead of storing them; on CPU that saves memory only in a scanned stack (XLA:CPU computes an
  unrolled stack's recomputation early: `make bench-compile`).

  `__call__(x, mask=None, bias=None, memory=None, memory_mask=None, positions=None, cache=None, is_causal=False)`
  -> (x, cache).
  """

  num_layers: int
  block: dict  # Block's fields other than is_causal and train
  scan: bool = False
  remat: RematPolicy = "none"
  train: bool = False

  @nn.compact
  def __call__(self, x, mask=None, bias=None, memory=None, memory_mask=None, positions=None, cache=None,
               is_causal: bool = False):
    context = (mask, bias, memory, memory_mask, positions)
    block = Block if self.remat == "none" else nn.remat(Block, prevent_cse=not self.scan,
                                                        policy=REMAT_POLICIES[self.remat])
    if self.scan:
      layers = nn.scan(block, variable_axes={"params": 0, "intermediates": 0}, split_rngs={"params": True,
                                                                                           "dropout": True},
                       in_axes=(1 if cache is not None else nn.broadcast, nn.broadcast), out_axes=1,
                       length=self.num_layers)
      kv = None if cache is None else {"key": cache["key"], "value": cache["value"],
                                       "index": jnp.broadcast_to(cache["index"], (self.num_layers,
                                                                                  *cache["index"].shape)).T}
      x, kv = layers(**self.block, is_causal=is_causal, train=self.train, name="layers")(x, kv, context)
    else:
      kvs = []
      for i in range(self.num_layers):
        kv = None if cache is None else {"key": cache["key"][:, i], "value": cache["value"][:, i],
                                         "index": cache["index"]}
        x, kv = block(**self.block, is_causal=is_causal, train=self.train, name=f"layers_{i}")(x, kv, context)
        kvs.append(kv)
      kv = None if cache is None else {"key": jnp.stack([c["key"] for c in kvs], 1),
                                       "value": jnp.stack([c["value"] for c in kvs], 1)}
    if cache is None:
      return x, None
    return x, {"key": kv["key"], "value": kv["value"], "index": cache["index"] + x.shape[1]}


def empty_cache(batch: int, num_layers: int, max_length: int, kv_heads: int, head_dim: int,
                dtype: Any = jnp.float32) -> dict:
  """A stack's KV cache with nothing written yet."""
  shape = (batch, num_layers, max_length, kv_heads, head_dim)
  return {"key": jnp.zeros(shape, dtype), "value": jnp.zeros(shape, dtype), "index": jnp.zeros((batch,), jnp.int32)}
