"""Scaled dot-product attention, softmax(Q K^T / sqrt(d) + bias) V, and multi-head attention with multi-query /
grouped-query heads and a static-size KV cache.

A GPU in half precision runs cuDNN's fused kernel through `jax.nn.dot_product_attention`. Everywhere else
(CPUs, GPUs in float32, explicit masks) the formula is written here with its own derivative rule, a custom JVP
whose transpose is flash attention's backward: softmax's Jacobian goes through rowsum(dO * O), a reduction over
the head dimension, where autodiff through `jax.nn.dot_product_attention`'s XLA path reduces dP * P over every
key. The character GPT's CPU step is a few percent faster for it (README); forward mode and second derivatives
still work. Layout (batch, length, heads, head_dim), as `jax.nn.dot_product_attention` takes it. Masks are
boolean, True where a query may attend, broadcastable to (batch, heads, queries, keys).
"""

import functools

import jax
import jax.numpy as jnp
import flax.linen as nn

from jaxdl.nn import positional


def causal_mask(query_positions, key_positions):
  """(B, 1, T, S): query at position m sees keys at positions <= m. Positions (B, T) and (B, S) or unbatched."""
  q, k = jnp.atleast_2d(query_positions), jnp.atleast_2d(key_positions)
  return (k[:, None, None, :] <= q[:, None, :, None])


def padding_mask(lengths, length: int):
  """(B, 1, 1, S): keys at positions < each row's length are real."""
  return (jnp.arange(length) < lengths[:, None])[:, None, None, :]


def combine_masks(*masks):
  """The AND of the masks given (None ones are skipped); None if none is given."""
  masks = [m for m in masks if m is not None]
  if not masks:
    return None
  out = masks[0]
  for m in masks[1:]:
    out = out & m
  return out


def _implementation(query, mask, implementation: str) -> str:
  if implementation not in ("auto", "xla", "cudnn"):
    raise ValueError(f"attention implementation {implementation!r}: expected auto, xla or cudnn")
  if implementation != "auto":
    return implementation
  fused = jax.default_backend() == "gpu" and query.dtype in (jnp.bfloat16, jnp.float16) and mask is None
  return "cudnn" if fused else "xla"


def dot_product_attention(query, key, value, mask=None, bias=None, is_causal: bool = False,
                          implementation: str = "auto"):
  """Attention of `query` (B, T, N, H) over `key`/`value` (B, S, K, H). N a multiple of K: K = N is multi-head,
  K = 1 multi-query, otherwise grouped-query attention. `is_causal` (T = S, both from position 0) lets cuDNN skip
  the masked half. A query row with no visible key returns zeros (rather than NaN or the mean of all values).
  `implementation`: "auto" (cuDNN on a GPU in half precision without an explicit mask, else XLA), "xla" (the
  formula below with its own derivative rule), "cudnn" (`jax.nn.dot_product_attention`'s fused kernel)."""
  if _implementation(query, mask, implementation) == "xla":
    if is_causal:
      mask = combine_masks(mask, causal_mask(jnp.arange(query.shape[1]), jnp.arange(key.shape[1])))
    return _attention(query, key, value, mask, bias)
  out = jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, is_causal=is_causal,
                                     implementation="cudnn")
  if mask is not None:
    visible = jnp.swapaxes(mask.any(axis=-1), 1, 2)[..., None]  # (B|1, T, N|1, 1)
    out = jnp.where(visible, out, 0).astype(out.dtype)
  return out


def attention_weights(query, key, mask=None, bias=None):
  """The softmax weights (B, N, T, S) themselves (attention maps, dropout, and the XLA path's forward pass).
  Masked keys get exactly 0; a row with no visible key is all 0."""
  logits = jnp.einsum("btnh,bsnh->bnts", query, _repeat_heads(key, query.shape[2]),
                      preferred_element_type=jnp.float32) / query.shape[-1] ** 0.5
  if bias is not None:
    logits = logits + bias.astype(jnp.float32)
  if mask is None:
    return jax.nn.softmax(logits, axis=-1)
  weights = jax.nn.softmax(jnp.where(mask, logits, jnp.finfo(jnp.float32).min), axis=-1)
  return jnp.where(mask, weights, 0.0)


def _repeat_heads(x, heads: int):
  """(B, S, K, H) -> (B, S, N, H): key/value head k serves query heads k * G to k * G + G - 1."""
  return x if x.shape[2] == heads else jnp.repeat(x, heads // x.shape[2], axis=2)


def _attention_and_weights(query, key, value, mask, bias):
  weights = attention_weights(query, key, mask, bias)
  return jnp.einsum("bnts,bsnh->btnh", weights.astype(value.dtype), _repeat_heads(value, query.shape[2])), weights


@jax.custom_jvp
def _attention(query, key, value, mask, bias):
  return _attention_and_weights(query, key, value, mask, bias)[0]


@functools.partial(_attention.defjvp, symbolic_zeros=True)
def _attention_jvp(primals, tangents):
  """O = P V with P = softmax(L): dO = (P * dL) V - rowsum(P * dL) O + P dV. Its transpose, the gradient, is
  flash attention's backward (Dao et al. 2022): dL = P * (dO V^T - rowsum(dO * O)), a reduction over the head
  dimension where autodiff through softmax reduces dP * P over every key."""
  query, key, value, mask, bias = primals
  d_query, d_key, d_value, _, d_bias = (None if isinstance(t, jax.custom_derivatives.SymbolicZero) else t
                                        for t in tangents)
  out, weights = _attention_and_weights(query, key, value, mask, bias)
  heads, scale = query.shape[2], query.shape[-1] ** -0.5
  terms = []
  if d_query is not None:
    terms.append(jnp.einsum("btnh,bsnh->bnts", d_query, _repeat_heads(key, heads), preferred_element_type=jnp.float32))
  if d_key is not None:
    terms.append(jnp.einsum("btnh,bsnh->bnts", query, _repeat_heads(d_key, heads), preferred_element_type=jnp.float32))
  d_logits = functools.reduce(jnp.add, terms) * scale if terms else None
  if d_bias is not None:
    d_logits = d_bias.astype(jnp.float32) if d_logits is None else d_logits + d_bias
  out_terms = []  # dO
  if d_logits is not None:
    moved = weights * d_logits
    out_terms += [jnp.einsum("bnts,bsnh->btnh", moved.astype(value.dtype), _repeat_heads(value, heads)),
                  -jnp.swapaxes(moved.sum(-1), 1, 2)[..., None].astype(out.dtype) * out]
  if d_value is not None:
    out_terms.append(jnp.einsum("bnts,bsnh->btnh", weights.astype(value.dtype), _repeat_heads(d_value, heads)))
  return out, functools.reduce(jnp.add, out_terms) if out_terms else jnp.zeros_like(out)


def write_cache(cache: dict, key, value) -> dict:
  """`cache` ({"key", "value": (B, L, K, H), "index": (B,)}) with `key`/`value` (B, T, K, H) written at each row's
  index, and the index moved past them."""
  put = jax.vmap(lambda buffer, new, i: jax.lax.dynamic_update_slice_in_dim(buffer, new, i, axis=0))
  return {"key": put(cache["key"], key.astype(cache["key"].dtype), cache["index"]),
          "value": put(cache["value"], value.astype(cache["value"].dtype), cache["index"]),
          "index": cache["index"] + key.shape[1]}


class MultiHeadAttention(nn.Module):
  """Self-attention (`memory` None) or cross-attention over `memory`, with `num_kv_heads` key/value heads shared by
  groups of query heads, optional rotary position embedding, and an optional KV cache for decoding.

  `__call__(x, memory=None, mask=None, bias=None, positions=None, cache=None, is_causal=False)` -> (output, cache).
  With a `cache` ({"key", "value": (B, max_length, K, H), "index": (B,)}), x's keys and values are written at
  each row's index and x's queries attend causally over everything written so far. When the "intermediates"
  collection is mutable, the attention weights are sown there as "attention_weights" (attention maps).
  """

  num_heads: int
  num_kv_heads: int | None = None  # None: num_heads (multi-head); 1: multi-query; else grouped-query
  head_dim: int | None = None  # None: features // num_heads
  dropout: float = 0.0  # on the attention weights and the output projection (GPT-2); training with dropout > 0
  # forms the weights explicitly, since the fused kernels have no dropout of their own
  use_bias: bool = True
  rope: bool = False  # rotary position embedding of queries and keys (Su et al. 2021)
  train: bool = False
  implementation: str = "auto"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, memory=None, mask=None, bias=None, positions=None, cache=None, is_causal: bool = False):
    features = x.shape[-1]
    head_dim = self.head_dim or features // self.num_heads
    kv_heads = self.num_kv_heads or self.num_heads
    if self.num_heads % kv_heads:
      raise ValueError(f"num_heads={self.num_heads} is not a multiple of num_kv_heads={kv_heads}")
    dense = lambda heads, name: nn.DenseGeneral(  # noqa: E731
        (heads, head_dim), use_bias=self.use_bias, dtype=self.dtype, name=name)
    source = x if memory is None else memory
    query, key, value = dense(self.num_heads, "query")(x), dense(kv_heads, "key")(source), \
        dense(kv_heads, "value")(source)
    if cache is not None:
      positions = cache["index"][:, None] + jnp.arange(x.shape[1])
    elif positions is None:
      positions = jnp.arange(x.shape[1])[None]
    if self.rope:
      key_positions = positions if memory is None else jnp.arange(source.shape[1])[None]
      query, key = positional.rope(query, positions), positional.rope(key, key_positions)
    if cache is not None:
      cache = write_cache(cache, key, value)
      key, value = cache["key"], cache["value"]
      mask = combine_masks(mask, causal_mask(positions, jnp.arange(key.shape[1])))
      is_causal = False
    explicit = self.train and self.dropout > 0
    if explicit or self.is_mutable_collection("intermediates"):
      weights = attention_weights(query, key, causal_mask(positions, positions) if is_causal else mask, bias)
      self.sow("intermediates", "attention_weights", weights)
    if explicit:
      weights = nn.Dropout(self.dropout, deterministic=False)(weights).astype(value.dtype)
      value = jnp.repeat(value, self.num_heads // kv_heads, axis=2)
      out = jnp.einsum("bnts,bsnh->btnh", weights, value)
    else:
      out = dot_product_attention(query, key, value, mask, bias, is_causal, self.implementation)
    out = nn.DenseGeneral(features, axis=(-2, -1), use_bias=self.use_bias, dtype=self.dtype, name="out")(out)
    return nn.Dropout(self.dropout, deterministic=not self.train)(out), cache
