"""BERT's masking: the 80/10/10 rule's statistics, and a loss that counts only the chosen positions."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.tasks.masked_lm import MaskedLM, mask_tokens


def test_fifteen_percent_chosen_then_eighty_ten_ten():
  vocab, mask_id = 50, 50
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, vocab, (256, 512)), jnp.int32)
  inputs, chosen = jax.device_get(mask_tokens(jax.random.PRNGKey(0), tokens, vocab, mask_id))
  tokens = np.asarray(tokens)
  n = chosen.sum()
  assert abs(n / chosen.size - 0.15) < 0.005  # ~19,700 chosen of 131,072: 5 standard deviations
  masked, kept = (inputs == mask_id) & chosen, (inputs == tokens) & chosen
  other = chosen & ~masked & ~kept
  # A random replacement draws the original token 1 time in 50: it then counts as kept.
  np.testing.assert_allclose([masked.sum() / n, other.sum() / n, kept.sum() / n],
                             [0.8, 0.1 * 49 / 50, 0.1 + 0.1 / 50], atol=0.015)
  assert (inputs[~chosen] == tokens[~chosen]).all() and (inputs < mask_id + 1).all()
  assert np.isin(inputs[other], np.arange(vocab)).all()


class FixedLogits(nn.Module):
  """Logits that are parameters, the same for any input: the loss's gradient shows which positions count."""

  length: int
  vocab: int
  mask_id: int = 20

  @nn.compact
  def __call__(self, tokens, train=False):
    return jnp.broadcast_to(self.param("logits", nn.initializers.normal(1.0), (self.length, self.vocab)),
                            (*tokens.shape, self.vocab))


def test_loss_counts_only_the_chosen_positions():
  task = MaskedLM(FixedLogits(64, 20), 20)
  batch = {"tokens": jnp.asarray(np.random.default_rng(1).integers(0, 20, (1, 64)), jnp.int32)}
  params = task.init(jax.random.PRNGKey(0), batch)["params"]
  rng = jax.random.PRNGKey(3)
  grads = jax.grad(lambda p: task.loss_fn(p, {}, batch, rng)[0])(params)["logits"]
  chosen = np.asarray(mask_tokens(jax.random.split(rng)[0], batch["tokens"], 20, 20)[1][0])
  assert 0 < chosen.sum() < 64
  touched = np.abs(np.asarray(grads)).sum(-1) > 0
  np.testing.assert_array_equal(touched, chosen)
  loss, (metrics, _) = task.loss_fn(params, {}, batch, rng)
  logp = jax.nn.log_softmax(params["logits"])
  want = -np.mean([logp[i, batch["tokens"][0, i]] for i in np.flatnonzero(chosen)])
  np.testing.assert_allclose(loss, want, rtol=1e-6)
  np.testing.assert_allclose(metrics["loss"], loss)
