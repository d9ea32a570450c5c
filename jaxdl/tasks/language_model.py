"""Next-token prediction on `{"tokens": (B, T + 1)}` windows: cross-entropy in nats per token, sampling.

With `stateful=true` the hidden state is carried from one training window to the next (truncated BPTT): the
loop then feeds batch row b of step s + 1 the text that follows row b of step s, the carry lives in the
train state's `carry` collection (so a resumed run continues it exactly), and gradients stop at the window's
start. Evaluation always starts each window from zeros.

A model plugs in with `__call__(tokens, carry=None, train=False) -> (logits, carry)` and
`initial_carry(batch, max_length)`: a recurrent state (rnn_lm) or a KV cache (gpt). Sampling runs the prompt
through an initial carry, then one token at a time (`jaxdl.decode`).
"""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import decode
from jaxdl.data.source import read_artifact
from jaxdl.data import tokenizers
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks.contract import Samples


@dataclasses.dataclass(frozen=True)
class SampleOptions:
  """What `--mode=sample` draws: `length` tokens after `prompt`, filtered by temperature / top-k / top-p."""

  prompt: str = "\n"
  length: int = 500
  temperature: float = 1.0
  top_k: int = 0
  top_p: float = 1.0


@tasks.register("language_model")
@dataclasses.dataclass(frozen=True)
class LanguageModel:
  """`--task_args=stateful=true` for truncated BPTT across consecutive windows."""

  model: nn.Module
  num_classes: int  # the vocabulary size
  stateful: bool = False

  train_metrics = ("loss",)
  monitor = "loss"  # validation nats per token picks the best checkpoint
  monitor_mode = "min"

  @property
  def consecutive_batches(self) -> bool:
    """Whether the loop must feed each batch row the text that follows the previous step's row."""
    return self.stateful

  def init(self, rng, batch) -> dict[str, Any]:
    if self.stateful and not getattr(self.model, "recurrent", False):
      raise UsageError(f"--task_args=stateful=true carries a recurrent state across windows; "
                       f"{type(self.model).__name__} has none")
    inputs = batch["tokens"][:, :-1]
    params_rng, dropout_rng = jax.random.split(rng)
    variables = {"params": self.model.init({"params": params_rng, "dropout": dropout_rng}, inputs)["params"]}
    if self.stateful:
      variables["carry"] = self.model.initial_carry(inputs.shape[0])
    return variables

  def expected_initial_loss(self) -> float:
    return math.log(self.num_classes)

  def _per_token_loss(self, params, batch, carry=None, train=False, rng=None):
    tokens = batch["tokens"]
    logits, carry = self.model.apply({"params": params}, tokens[:, :-1], carry, train=train,
                                     rngs={"dropout": rng} if train else None)
    return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]), carry

  def loss_fn(self, params, model_state, batch, rng):
    carry = jax.lax.stop_gradient(model_state["carry"]) if self.stateful else None
    losses, carry = self._per_token_loss(params, batch, carry, train=True, rng=rng)
    loss = losses.mean()
    return loss, ({"loss": loss}, {"carry": carry} if self.stateful else {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    return {"loss": self._per_token_loss(params, batch)[0].mean(axis=-1)}

  def sample_fn(self, params, model_state, rng, workdir: str, options: SampleOptions = SampleOptions(),
                examples=None) -> Samples:
    """Text continuing `options.prompt`, decoded with the run's vocab.json (unconditional: `examples` unused)."""
    del model_state, examples
    tokenizer = tokenizers.from_json(read_artifact(workdir, "vocab.json"))
    if not options.prompt:
      raise UsageError("--prompt must not be empty: sampling continues it")
    prompt = jnp.asarray(tokenizer.encode(options.prompt))[None]
    total = prompt.shape[1] + options.length
    if total > getattr(self.model, "context", total):
      raise UsageError(f"--prompt ({prompt.shape[1]} tokens) and --sample_length={options.length} exceed the "
                       f"model's context of {self.model.context} tokens")
    logits, carry = self.model.apply({"params": params}, prompt, self.model.initial_carry(1, total))

    def step(carry, token):
      logits, carry = self.model.apply({"params": params}, token[:, None], carry)
      return logits[:, -1], carry

    tokens = decode.sample(step, carry, logits[:, -1], rng, options.length, options.temperature, options.top_k,
                           options.top_p)
    return Samples(options.prompt + tokenizer.decode(np.asarray(tokens[0])))
