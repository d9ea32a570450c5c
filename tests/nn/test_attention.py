"""Attention against the NumPy reference (multi-head, grouped-query, multi-query; causal, padding and cross
masks; rows with nothing to see), the positional encodings, and the KV cache against full recomputation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.models.gpt import GPT
from jaxdl.nn import attention as attn
from jaxdl.nn import positional
from jaxdl.nn.transformer import Stack
from tests.reference import attention as ref

RNG = np.random.default_rng(0)


def _qkv(heads, kv_heads, t=5, s=7):
  draw = lambda *shape: RNG.normal(size=shape).astype(np.float32)  # noqa: E731
  return draw(2, t, heads, 8), draw(2, s, kv_heads, 8), draw(2, s, kv_heads, 8)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 2), (4, 1)], ids=["multi-head", "grouped", "multi-query"])
def test_masked_attention_equals_the_reference_and_masked_keys_get_exactly_zero(heads, kv_heads):
  q, k, v = _qkv(heads, kv_heads)
  lengths = np.array([7, 3])
  mask = np.array(attn.combine_masks(attn.padding_mask(jnp.asarray(lengths), 7),
                                       attn.causal_mask(jnp.arange(5) + 2, jnp.arange(7))))
  mask[1, 0, 0] = False  # a query row that sees nothing
  out = np.asarray(attn.dot_product_attention(q, k, v, jnp.asarray(mask)))
  weights = np.asarray(attn.attention_weights(q, k, jnp.asarray(mask)))
  want_out, want_weights = ref.attention(q, k, v, mask)
  np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-7)
  assert (weights[~np.broadcast_to(mask, weights.shape)] == 0).all() and (out[1, 0] == 0).all()
  grads = jax.grad(lambda q: attn.dot_product_attention(q, k, v, jnp.asarray(mask)).sum())(q)
  assert np.isfinite(grads).all()
  # No mask at all (cross-attention over every key), and is_causal against the explicit causal mask.
  np.testing.assert_allclose(attn.dot_product_attention(q, k, v), ref.attention(q, k, v)[0], rtol=1e-5, atol=1e-6)
  q, k, v = _qkv(heads, kv_heads, t=6, s=6)
  np.testing.assert_allclose(attn.dot_product_attention(q, k, v, is_causal=True),
                             ref.attention(q, k, v, np.tril(np.ones((6, 6), bool)))[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 2), (4, 1)], ids=["multi-head", "grouped", "multi-query"])
def test_xla_path_derivatives_equal_autodiff_of_jax_attention(heads, kv_heads):
  """The XLA path's own derivative rule (flash attention's backward as its transpose) against JAX differentiating
  `jax.nn.dot_product_attention`'s plain formula: the gradients for queries, keys, values and a learned bias, and
  a Hessian-vector product (forward over reverse, as --mode=hessian takes), with padding, a row that sees
  nothing, and causal masking."""
  q, k, v = _qkv(heads, kv_heads, t=6, s=6)
  bias = RNG.normal(size=(1, heads, 6, 6)).astype(np.float32)
  mask = np.broadcast_to(np.array(attn.padding_mask(jnp.array([6, 4]), 6)), (2, heads, 6, 6)).copy()
  mask[1, 0, 2] = False  # query 2 of head 0 of the second example sees nothing
  cotangent = RNG.normal(size=q.shape).astype(np.float32)
  direction = [RNG.normal(size=x.shape).astype(np.float32) for x in (q, k, v, bias)]

  def derivatives(attend, mask, is_causal):
    grad = jax.grad(lambda *args: jnp.vdot(attend(*args, mask, is_causal), cotangent), argnums=(0, 1, 2, 3))
    return jax.jit(lambda: (grad(q, k, v, bias), jax.jvp(grad, (q, k, v, bias), tuple(direction))[1]))()

  ours = lambda q, k, v, b, m, c: attn.dot_product_attention(q, k, v, m, b, c, implementation="xla")  # noqa: E731

  def theirs(q, k, v, b, m, c):
    out = jax.nn.dot_product_attention(q, k, v, bias=b, mask=m, is_causal=c, implementation="xla")
    return out if m is None else jnp.where(jnp.swapaxes(m.any(-1), 1, 2)[..., None], out, 0)

  for mask_, is_causal in ((jnp.asarray(mask), False), (None, True)):
    (got, got_hvp), (want, want_hvp) = derivatives(ours, mask_, is_causal), derivatives(theirs, mask_, is_causal)
    names = [f"{kind} {x}" for kind in ("gradient", "Hessian-vector product")
             for x in ("query", "key", "value", "bias")]
    for name, a, b in zip(names, got + got_hvp, want + want_hvp, strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)
    assert float(jnp.abs(got[3]).max()) > 1e-3  # the bias does get a gradient
  upper = np.triu_indices(6, 1)
  assert (np.asarray(got[3])[..., upper[0], upper[1]] == 0).all()  # causal: none above the diagonal


def test_sinusoidal_is_the_notes_formula_and_rope_scores_depend_only_on_the_offset():
  np.testing.assert_allclose(positional.sinusoidal(jnp.arange(9), 6), ref.sinusoidal(range(9), 6), atol=1e-5)
  q, k = RNG.normal(size=(1, 1, 1, 16)).astype(np.float32), RNG.normal(size=(1, 1, 1, 16)).astype(np.float32)
  score = lambda m, n: float(jnp.sum(positional.rope(q, jnp.array([m])) * positional.rope(k, jnp.array([n]))))  # noqa
  for m, n in [(3, 1), (10, 2), (0, 5)]:
    np.testing.assert_allclose([score(m + shift, n + shift) for shift in (0, 7, 50)], score(m, n), rtol=1e-4)
  assert abs(score(3, 1) - score(3, 2)) > 1e-3  # and it does depend on the offset
  bias = positional.RelativePositionBias(2, 5)
  index = positional.relative_index(jnp.arange(3), jnp.arange(4), 2)
  table = RNG.normal(size=(5, 2)).astype(np.float32)
  out = np.asarray(bias.apply({"params": {"table": table}}, index))
  assert out.shape == (1, 2, 3, 4)
  for t in range(3):
    for s in range(4):
      np.testing.assert_array_equal(out[0, :, t, s], table[np.clip(s - t, -2, 2) + 2])


@pytest.mark.parametrize("positional_kind", ["learned", "rope", "relative"])
def test_kv_cache_logits_equal_full_recomputation_at_every_step(positional_kind):
  model = GPT(num_classes=11, num_layers=2, num_heads=4, num_kv_heads=2, width=16, context=12,
              positional=positional_kind)
  tokens = jnp.asarray(RNG.integers(0, 11, (2, 10)))
  params = model.init(jax.random.PRNGKey(0), tokens)
  apply = jax.jit(model.apply)
  full, _ = apply(params, tokens)
  logits, cache = apply(params, tokens[:, :4], model.initial_carry(2, 12))  # the prompt
  np.testing.assert_allclose(logits, full[:, :4], atol=1e-5)
  for t in range(4, 10):
    logits, cache = apply(params, tokens[:, t:t + 1], cache)
    np.testing.assert_allclose(logits[:, 0], full[:, t], atol=1e-5)
  assert (np.asarray(cache["index"]) == 10).all()


def test_scanned_layers_equal_a_python_loop_and_remat_changes_no_gradient():
  x = jnp.asarray(RNG.normal(size=(2, 5, 16)).astype(np.float32))
  block = dict(num_heads=4, pre_norm=False)
  scanned = Stack(3, block, scan=True)
  params = scanned.init(jax.random.PRNGKey(0), x)["params"]
  unstacked = {f"layers_{i}": jax.tree.map(lambda p: p[i], params["layers"]) for i in range(3)}
  w = jnp.asarray(RNG.normal(size=(2, 5, 16)).astype(np.float32))

  def loss(module):
    return lambda p: jnp.sum(module.apply({"params": p}, x, is_causal=True)[0] * w)

  np.testing.assert_allclose(jax.jit(loss(Stack(3, block, scan=False)))(unstacked), jax.jit(loss(scanned))(params),
                             rtol=1e-5)
  for scan, p, policies in ((True, params, ("full", "dots")), (False, unstacked, ("full",))):
    grad = jax.grad(loss(Stack(3, block, scan=scan)))
    grads = jax.jit(grad)(p)
    assert "remat" not in str(jax.make_jaxpr(grad)(p))
    for policy in policies:
      remat_grad = jax.jit(jax.grad(loss(Stack(3, block, scan=scan, remat=policy))))
      assert "remat" in str(jax.make_jaxpr(remat_grad)(p))  # the layer is recomputed
      # Recomputing the forward pass reassociates a few sums: float32 noise of order 1e-6 on gradients of order 1.
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), grads, remat_grad(p))
