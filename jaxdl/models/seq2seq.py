"""LSTM encoder-decoder (Sutskever et al. 2014) with optional attention over the encoder's outputs: additive
(Bahdanau et al. 2015) or multiplicative (Luong et al. 2015, "general"). Without attention the decoder sees
the source only through the encoder's final state: the notes' fixed-vector bottleneck.

The decoder (`AttentionDecoder`, shared with the image captioner) is one step scanned over time in training
and driven by `jaxdl.decode` (greedy, beam search) at test time; its state is a dict whose leaves all lead
with the batch.
"""

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.data.sequences import BOS
from jaxdl.errors import UsageError
from jaxdl.nn.recurrent import LSTMCell, StackedRNN
from jaxdl.registry import models

ATTENTION = ("additive", "multiplicative", "none")


class Attention(nn.Module):
  """Weights over the source positions (padding gets none) and the weighted sum of their encodings."""

  kind: str = "additive"
  features: int = 128

  @nn.compact
  def __call__(self, query, memory, mask):
    if self.kind == "additive":  # v^T tanh(W_m m_s + W_q q)
      hidden = nn.Dense(self.features, use_bias=False, name="memory")(memory) + \
          nn.Dense(self.features, name="query")(query)[:, None]
      scores = nn.Dense(1, use_bias=False, name="score")(jnp.tanh(hidden))[..., 0]
    else:  # q^T W m_s
      scores = jnp.einsum("bh,bsh->bs", nn.Dense(memory.shape[-1], use_bias=False, name="query")(query), memory)
    weights = jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1)
    return jnp.einsum("bs,bsh->bh", weights, memory), weights


class AttentionDecoder(nn.Module):
  """An LSTM decoder over a memory of encodings: `step(state, token)` -> (next-token logits (B, V), attention
  weights (B, S), next state), and `__call__(state, decoder_inputs, teacher)` scans it over time. Step t reads
  `decoder_inputs[:, t]` where `teacher[:, t]` is true (teacher forcing) and its own previous most likely token
  elsewhere (scheduled sampling). The state: {"carry", "context", "memory" (B, S, D), "mask" (B, S)}."""

  num_classes: int
  embed: int
  hidden: int
  attention: str = "additive"

  def setup(self):
    if self.attention not in ATTENTION:
      raise UsageError(f"--model_args attention={self.attention!r}; choose one of: {', '.join(ATTENTION)}")
    self.target_embed = nn.Embed(self.num_classes, self.embed)
    self.cell = LSTMCell(self.hidden)
    if self.attention != "none":
      self.attend = Attention(self.attention, self.hidden)
      self.combine = nn.Dense(self.hidden)
    self.head = nn.Dense(self.num_classes)

  def step(self, state: dict, token):
    x = self.target_embed(token)
    if self.attention != "none":
      x = jnp.concatenate([x, state["context"]], -1)  # input feeding: the previous step's context
    carry, h = self.cell(state["carry"], x)
    weights = jnp.zeros(state["mask"].shape)
    context = state["context"]
    if self.attention != "none":
      context, weights = self.attend(h, state["memory"], state["mask"])
      h = jnp.tanh(self.combine(jnp.concatenate([h, context], -1)))
    return self.head(h).astype(jnp.float32), weights, {**state, "carry": carry, "context": context}

  def __call__(self, state: dict, decoder_inputs, teacher=None):
    teacher = jnp.ones(decoder_inputs.shape, bool) if teacher is None else teacher
    return scan_steps(self, "step", state, decoder_inputs, teacher, self.num_classes)


def scan_steps(module: nn.Module, method: str, state, decoder_inputs, teacher, num_classes: int):
  """Runs `module.<method>(state, token) -> (logits, weights, state)` over time as one `nn.scan`: step t reads
  `decoder_inputs[:, t]` where `teacher[:, t]` is true and the previous step's most likely token elsewhere.
  Returns (logits (B, T, V), weights stacked over time, or None if the steps give none)."""

  def step(module, carry, inputs):
    state, previous = carry
    given, use_given = inputs
    logits, weights, state = getattr(module, method)(state, jnp.where(use_given, given, jnp.argmax(previous, -1)))
    return (state, logits), (logits, weights)

  scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False}, in_axes=1, out_axes=1)
  first = jnp.zeros((decoder_inputs.shape[0], num_classes), jnp.float32)
  _, (logits, weights) = scan(module, (state, first), (decoder_inputs, teacher))
  return logits, weights


class Seq2Seq(nn.Module):
  """`__call__(source, source_length, decoder_inputs, teacher=None)` -> (logits (B, T, V), attention (B, T, S));
  `encode` and `decode_step` drive decoding (`jaxdl.decode`)."""

  num_classes: PositiveInt = 13  # the vocabulary, from the data
  embed: PositiveInt = 32
  hidden: PositiveInt = 128
  attention: str = "additive"
  dtype: Any = jnp.float32

  input_keys: ClassVar[tuple[str, ...]] = ("source", "source_length")  # what a task passes from the batch

  def setup(self):
    self.source_embed = nn.Embed(self.num_classes, self.embed)
    self.encoder = StackedRNN("lstm", self.hidden)
    self.decoder = AttentionDecoder(self.num_classes, self.embed, self.hidden, self.attention)

  def encode(self, source, source_length) -> dict:
    """The decoder's initial state: the encoder's final carry, its outputs (memory) and the source mask."""
    (carry,), memory = self.encoder(self.source_embed(source), seq_lengths=source_length)
    mask = jnp.arange(source.shape[1]) < source_length[:, None]
    return {"carry": carry, "context": jnp.zeros_like(memory[:, 0]), "memory": memory, "mask": mask}

  def decode_step(self, state: dict, token):
    return self.decoder.step(state, token)

  def __call__(self, source, source_length, decoder_inputs, teacher=None):
    return self.decoder(self.encode(source, source_length), decoder_inputs, teacher)


def decoder_inputs(target):
  """BOS, then the target shifted right by one (teacher forcing's inputs)."""
  return jnp.concatenate([jnp.full_like(target[:, :1], BOS), target[:, :-1]], axis=1)


models.register("seq2seq", Seq2Seq)
