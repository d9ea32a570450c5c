"""Masked language modelling (`--task=masked_lm`, BERT's pre-training) on `{"tokens": (B, T)}` windows: a random
15% of the positions are chosen; of those, 80% are replaced by [MASK], 10% by a random token and 10% left as
they are; the loss is the cross-entropy at the chosen positions only.

Evaluation masks with a fixed key, so every checkpoint is scored on the same corruption.
"""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxdl.args import OpenUnit
from jaxdl.registry import tasks

EVAL_KEY = 0  # the seed of evaluation's masks


def mask_tokens(rng, tokens, vocab_size: int, mask_id: int, rate: float = 0.15):
  """(corrupted tokens, chosen (B, T) bool): each position is chosen with probability `rate`; a chosen one
  becomes `mask_id` with probability 0.8, a uniformly random token with 0.1, and stays with 0.1."""
  choose, kind, random = jax.random.split(rng, 3)
  chosen = jax.random.bernoulli(choose, rate, tokens.shape)
  u = jax.random.uniform(kind, tokens.shape)
  replaced = jnp.where(u < 0.8, mask_id, jnp.where(u < 0.9, jax.random.randint(random, tokens.shape, 0, vocab_size),
                                                     tokens))
  return jnp.where(chosen, replaced, tokens).astype(tokens.dtype), chosen


@tasks.register("masked_lm")
@dataclasses.dataclass(frozen=True)
class MaskedLM:
  """`--task_args=mask_rate=0.15`. The model gives logits over the vocabulary at every position and names its
  [MASK] id (`mask_id`)."""

  model: nn.Module
  num_classes: int  # the vocabulary size
  mask_rate: OpenUnit = 0.15

  train_metrics = ("loss", "masked_accuracy")
  monitor = "loss"  # validation cross-entropy at the masked positions picks the best checkpoint
  monitor_mode = "min"

  def init(self, rng, batch) -> dict[str, Any]:
    params_rng, dropout_rng = jax.random.split(rng)
    return {"params": self.model.init({"params": params_rng, "dropout": dropout_rng}, batch["tokens"])["params"]}

  def expected_initial_loss(self) -> float:
    return math.log(self.num_classes)

  def _per_example(self, params, tokens, mask_rng, train=False, dropout_rng=None):
    """Per-example (loss, accuracy) over the chosen positions."""
    inputs, chosen = mask_tokens(mask_rng, tokens, self.num_classes, self.model.mask_id, self.mask_rate)
    logits = self.model.apply({"params": params}, inputs, train=train,
                              rngs={"dropout": dropout_rng} if train else None)
    weight = chosen.astype(jnp.float32)
    count = jnp.maximum(weight.sum(1), 1.0)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, tokens)
    return (losses * weight).sum(1) / count, ((logits.argmax(-1) == tokens) * weight).sum(1) / count

  def loss_fn(self, params, model_state, batch, rng):
    mask_rng, dropout_rng = jax.random.split(rng)
    loss, accuracy = jax.tree.map(jnp.mean, self._per_example(params, batch["tokens"], mask_rng, True, dropout_rng))
    return loss, ({"loss": loss, "masked_accuracy": accuracy}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    loss, accuracy = self._per_example(params, batch["tokens"], jax.random.PRNGKey(EVAL_KEY))
    return {"loss": loss, "masked_accuracy": accuracy}
