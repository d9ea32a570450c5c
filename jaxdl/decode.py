"""Decoding, written once for any model that gives next-token logits from a state: greedy, sampling with
temperature / top-k / top-p, and beam search. Each is one `lax.scan` (or `while`) inside jit.

A model plugs in as `step_fn(state, token (B,)) -> (logits (B, V), state)`, plus the logits that predict the
first new token (after the prompt). Every leaf of `state` has the batch on its leading axis (beam search
tiles and reorders it along that axis).
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

StepFn = Callable[..., tuple[jax.Array, object]]


def filter_logits(logits, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0):
  """Logits / temperature with everything outside the top k (k > 0) and outside the smallest set of most
  likely tokens whose probability reaches top_p (p < 1) set to -inf."""
  logits = logits.astype(jnp.float32) / temperature
  if top_k:
    kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
    logits = jnp.where(logits < kth, -jnp.inf, logits)
  if top_p < 1.0:
    ordered = jnp.sort(logits, axis=-1)[..., ::-1]
    mass_before = jnp.cumsum(jax.nn.softmax(ordered, axis=-1), axis=-1) - jax.nn.softmax(ordered, axis=-1)
    kept = mass_before < top_p  # a token is kept while the mass of the tokens above it is short of p
    threshold = jnp.min(jnp.where(kept, ordered, jnp.inf), axis=-1, keepdims=True)
    logits = jnp.where(logits < threshold, -jnp.inf, logits)
  return logits


@functools.partial(jax.jit, static_argnames=("step_fn", "length", "temperature", "top_k", "top_p"))
def sample(step_fn: StepFn, state, logits, rng, length: int, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0):
  """`length` tokens (B, length) drawn from the filtered distribution; temperature 0 is greedy."""

  def body(carry, key):
    state, logits = carry
    if temperature == 0:
      token = jnp.argmax(logits, axis=-1)
    else:
      token = jax.random.categorical(key, filter_logits(logits, temperature, top_k, top_p), axis=-1)
    logits, state = step_fn(state, token)
    return (state, logits), token

  _, tokens = jax.lax.scan(body, (state, logits), jax.random.split(rng, length))
  return tokens.T


def greedy(step_fn: StepFn, state, logits, length: int):
  """The most likely token at every step."""
  return sample(step_fn, state, logits, jax.random.PRNGKey(0), length, temperature=0.0)


def _tile(tree, k: int):
  return jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), tree)


@functools.partial(jax.jit, static_argnames=("step_fn", "beam", "length", "eos", "pad", "alpha"))
def beam_search(step_fn: StepFn, state, logits, beam: int, length: int, eos: int = -1, pad: int = 0,
                alpha: float = 0.0):
  """The `beam` best sequences of `length` tokens by log-probability / (tokens up to and including EOS)^alpha,
  best first: (tokens (B, beam, length), normalized scores (B, beam)).

  A hypothesis that has emitted `eos` is finished: it is carried unchanged (padded with `pad`, score frozen),
  never extended. With beam >= V^length and alpha = 0 the search is exhaustive.
  """
  batch, vocab = logits.shape
  state = _tile(state, beam)
  # Start from one live hypothesis per example (the others -inf), so the first expansion has no duplicates.
  scores = jnp.where(jnp.arange(beam) == 0, 0.0, -jnp.inf)[None].repeat(batch, 0)
  tokens = jnp.full((batch, beam, length), pad, jnp.int32)
  finished = jnp.zeros((batch, beam), bool)
  lengths = jnp.zeros((batch, beam), jnp.int32)
  logits = _tile(logits, beam).reshape(batch, beam, vocab)

  def body(t, carry):
    state, logits, scores, tokens, finished, lengths = carry
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    # A finished hypothesis has one continuation, `pad`, that leaves its score as it is.
    frozen = jnp.where(jnp.arange(vocab) == pad, 0.0, -jnp.inf)
    logp = jnp.where(finished[..., None], frozen, logp)
    candidates = (scores[..., None] + logp).reshape(batch, beam * vocab)
    scores, flat = jax.lax.top_k(candidates, beam)
    parent, token = flat // vocab, flat % vocab
    take = lambda x: jnp.take_along_axis(x, parent, axis=1)  # noqa: E731
    was_finished = take(finished)
    tokens = jnp.take_along_axis(tokens, parent[..., None], axis=1).at[:, :, t].set(token)
    lengths = take(lengths) + (~was_finished).astype(jnp.int32)
    finished = was_finished | (token == eos)
    rows = (jnp.arange(batch)[:, None] * beam + parent).reshape(-1)
    state = jax.tree.map(lambda x: x[rows], state)
    logits, state = step_fn(state, token.reshape(-1))
    return state, logits.reshape(batch, beam, vocab), scores, tokens, finished, lengths

  carry = (state, logits, scores, tokens, finished, lengths)
  _, _, scores, tokens, _, lengths = jax.lax.fori_loop(0, length, body, carry)
  normalized = scores / jnp.maximum(lengths, 1).astype(jnp.float32) ** alpha
  order = jnp.argsort(-normalized, axis=1)
  return jnp.take_along_axis(tokens, order[..., None], axis=1), jnp.take_along_axis(normalized, order, axis=1)
