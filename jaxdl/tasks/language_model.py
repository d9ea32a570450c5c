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
    """Text continuing `options.prompt`, decoded with the run's vocab.json (unconditional: `examples` unused).
    The unknown id (a character the training text never had) is never drawn. Past a model's context the window
    slides, as nanoGPT's does: each further token is drawn from a cache refilled with the last `context - 1`
    tokens, so the first `context` tokens are those of one cached pass."""
    del model_state, examples
    tokenizer = tokenizers.from_json(read_artifact(workdir, "vocab.json"))
    if not options.prompt:
      raise UsageError("--prompt is empty: sampling continues it (the default is a newline, --prompt='\\n')")
    unknown = tokenizer.unknown_in(options.prompt)
    if unknown:
      raise UsageError(f"--prompt has characters the training text never had: {unknown!r}; leave them out")
    tokens = np.asarray(tokenizer.encode(options.prompt))
    context = getattr(self.model, "context", None)
    if context is not None and len(tokens) >= context:
      raise UsageError(f"--prompt ({len(tokens)} tokens) fills the model's context of {context} tokens; "
                       "give a shorter one")
    ban = (lambda logits: logits.at[:, tokenizer.unknown_id].set(-jnp.inf)) if tokenizer.unknown_id is not None \
        else (lambda logits: logits)
    prefill = jax.jit(lambda params, window, length: self.model.apply(
        {"params": params}, window, self.model.initial_carry(1, length)), static_argnums=2)

    def step(carry, token):  # one function for every chunk: decode.sample compiles once per length
      logits, carry = self.model.apply({"params": params}, token[:, None], carry)
      return ban(logits[:, -1]), carry

    drawn, chunk = [], 0
    while len(drawn) < options.length:
      window = np.concatenate([tokens, np.asarray(drawn, np.int32)])[-(context - 1):] if context else tokens
      count = min(options.length - len(drawn), context - len(window) if context else options.length)
      logits, carry = prefill(params, jnp.asarray(window)[None], len(window) + count)
      key = rng if chunk == 0 else jax.random.fold_in(rng, chunk)  # the first chunk draws what one pass drew
      drawn += np.asarray(decode.sample(step, carry, ban(logits[:, -1]), key, count, options.temperature,
                                        options.top_k, options.top_p)[0]).tolist()
      chunk += 1
    return Samples(options.prompt + tokenizer.decode(np.asarray(drawn)))
