"""Sequence to sequence (`--task=translate`): cross-entropy over the target's tokens with teacher forcing (a
ratio, optionally decayed: scheduled sampling); evaluation decodes greedily and reports exact-sequence
accuracy and corpus BLEU-4; `--mode=sample` beam-searches the first test examples.

Batches hold a "target" (`jaxdl.data.sequences` ids) and what the model encodes (its `input_keys`): a
{"source", "source_length"} pair, or an "image" to caption.
"""

import dataclasses
import json
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl import decode, metrics
from jaxdl.args import NonNegativeInt, UnitInterval
from jaxdl.data.sequences import BOS, EOS, PAD
from jaxdl.data.source import read_artifact
from jaxdl.errors import UsageError
from jaxdl.models.seq2seq import decoder_inputs
from jaxdl.registry import tasks
from jaxdl.tasks.contract import AttentionMaps, Samples


def exact_match(predicted, target):
  """1.0 where `predicted` equals `target` up to and including the target's EOS (what follows is ignored)."""
  positions = jnp.arange(target.shape[1])
  end = jnp.argmax(target == EOS, axis=1)
  return jnp.all((predicted == target) | (positions > end[:, None]), axis=1).astype(jnp.float32)


def _until_eos(ids) -> list[int]:
  ids = list(ids)
  return ids[:ids.index(EOS)] if EOS in ids else ids


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
  """`--mode=sample`: the beam width (1: greedy)."""

  beam: int = 4


@tasks.register("translate")
@dataclasses.dataclass(frozen=True)
class Translate:
  """`--task_args=teacher_forcing=0.5` feeds the model's own previous prediction at half the steps; with
  `sampling_decay_steps=N` the ratio falls linearly from 1 to `teacher_forcing` over the first N steps
  (scheduled sampling, Bengio et al. 2015)."""

  model: nn.Module
  num_classes: int
  teacher_forcing: UnitInterval = 1.0
  sampling_decay_steps: NonNegativeInt = 0

  train_metrics = ("loss", "token_accuracy")
  monitor = "exact_match"
  monitor_mode = "max"

  def init(self, rng, batch) -> dict[str, Any]:
    variables = {"params": self.model.init(rng, *self._inputs(batch), decoder_inputs(batch["target"]))["params"]}
    if self.sampling_decay_steps:
      variables["progress"] = {"step": jnp.zeros((), jnp.float32)}  # how far the schedule has come
    return variables

  def expected_initial_loss(self) -> float:
    return math.log(self.num_classes)

  def _inputs(self, batch) -> list:
    """What the model encodes, by the batch keys it names (`input_keys`: a source and its lengths, an image)."""
    return [batch[key] for key in self.model.input_keys]

  def _ratio(self, model_state):
    if not self.sampling_decay_steps:
      return self.teacher_forcing
    done = jnp.minimum(model_state["progress"]["step"] / self.sampling_decay_steps, 1.0)
    return 1.0 - done * (1.0 - self.teacher_forcing)

  def _losses(self, logits, target):
    real = (target != PAD).astype(jnp.float32)
    per_token = optax.softmax_cross_entropy_with_integer_labels(logits, target) * real
    correct = (logits.argmax(-1) == target) * real
    return per_token.sum(1) / real.sum(1), correct.sum(1) / real.sum(1)

  def loss_fn(self, params, model_state, batch, rng):
    target = batch["target"]
    teacher = None  # every step reads the target: models may then decode the whole target in one pass
    if self.teacher_forcing < 1.0:
      teacher = (jax.random.uniform(rng, target.shape) < self._ratio(model_state)).at[:, 0].set(True)  # BOS
    logits, _ = self.model.apply({"params": params}, *self._inputs(batch), decoder_inputs(target), teacher)
    loss, accuracy = jax.tree.map(jnp.mean, self._losses(logits, target))
    new_state = {"progress": {"step": model_state["progress"]["step"] + 1}} if self.sampling_decay_steps else {}
    return loss, ({"loss": loss, "token_accuracy": accuracy}, new_state)

  def _decoder(self, params, batch):
    """(step_fn, state, logits of the first token) for `jaxdl.decode`, conditioned on the batch's inputs."""
    variables = {"params": params}
    state = self.model.apply(variables, *self._inputs(batch), method="encode")

    def step(state, token):
      logits, _, state = self.model.apply(variables, state, token, method="decode_step")
      return logits, state

    bos = jnp.full(batch["target"].shape[:1], BOS, jnp.int32)
    first, _, state = self.model.apply(variables, state, bos, method="decode_step")
    return step, state, first

  def predict(self, params, batch, length: int):
    """Greedy decoding of `length` tokens for each input."""
    return decode.greedy(*self._decoder(params, batch), length)

  def sample_fn(self, params, model_state, rng, workdir: str, options: DecodeOptions = DecodeOptions(),
                examples=None) -> Samples:
    """The best of `options.beam` beams for each example, in the words of the run's symbols.json, beside the
    target and with the examples' corpus BLEU-4; images come back with their decoded captions."""
    del model_state, rng
    names = json.loads(read_artifact(workdir, "symbols.json"))
    words = lambda ids: [names[t] for t in _until_eos(ids)]  # noqa: E731

    @jax.jit
    def beams(params, examples):  # encoding and the first step too: eagerly, each op would compile on its own
      step, state, first = self._decoder(params, examples)
      return decode.beam_search(step, state, first, options.beam, examples["target"].shape[1], eos=EOS, pad=PAD)[0]

    tokens = beams(params, {k: examples[k] for k in (*self.model.input_keys, "target")})
    outputs = [words(t) for t in np.asarray(tokens[:, 0]).tolist()]
    targets = [words(t) for t in np.asarray(examples["target"]).tolist()]
    inputs = [" ".join(names[t] for t in s[:n]) + " -> " for s, n in
              zip(np.asarray(examples["source"]).tolist(), examples["source_length"])] if "source" in examples else \
        [""] * len(outputs)
    lines = [f"{i}{' '.join(o)}   (target: {' '.join(t)})" for i, o, t in zip(inputs, outputs, targets)]
    lines.append(f"beam {options.beam}: BLEU-4 {metrics.bleu(targets, outputs):.3f} on these {len(outputs)}")
    captions = tuple(" ".join(o) for o in outputs)
    return Samples("\n".join(lines), np.asarray(examples["image"]) if "image" in examples else None, captions)

  def attention_maps(self, params, model_state, batch, workdir: str) -> AttentionMaps:
    """Each greedily decoded token's attention over the source (B, T, S), labelled with the decoded tokens (up
    to EOS) and the source symbols in the words of the run's symbols.json. The free-running pass reads back
    its own previous token, as greedy decoding does."""
    target = batch["target"]
    free = jnp.zeros(target.shape, bool).at[:, 0].set(True)
    apply = jax.jit(lambda params, inputs, decoder: self.model.apply({"params": params}, *inputs, decoder, free))
    logits, weights = apply(params, self._inputs(batch), decoder_inputs(target))
    if weights is None:
      raise UsageError(f"--mode=attention_maps: {type(self.model).__name__} returns no single attention map")
    names = json.loads(read_artifact(workdir, "symbols.json"))
    outputs = np.asarray(logits.argmax(-1)).tolist()
    rows = [[names[t] for t in out[:out.index(EOS) + 1 if EOS in out else len(out)]] for out in outputs]
    if "source" in batch:
      columns = [[names[t] for t in source[:n]] for source, n in zip(np.asarray(batch["source"]).tolist(),
                                                                      np.asarray(batch["source_length"]))]
    else:  # an image's feature grid, position by position
      columns = [[str(i) for i in range(weights.shape[-1])]] * len(rows)
    return AttentionMaps(np.asarray(weights), tuple(rows), tuple(columns))

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    target = batch["target"]
    logits, _ = self.model.apply({"params": params}, *self._inputs(batch), decoder_inputs(target))
    loss, accuracy = self._losses(logits, target)
    predicted = self.predict(params, batch, target.shape[1])
    return {"loss": loss, "token_accuracy": accuracy, "exact_match": exact_match(predicted, target),
            **metrics.bleu_counts(predicted, target, EOS)}

  def corpus_metrics(self, means: dict[str, float]) -> dict[str, float]:
    """BLEU-4 of the greedy outputs, from the split's averaged n-gram counts."""
    return metrics.replace_counts_by_bleu(means)
