"""Decoding (jaxdl/decode.py) on a tiny model with known next-token probabilities: greedy, beam search against
exhaustive search, finished hypotheses, top-k and top-p filtering."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import decode

V, EOS, PAD = 4, 3, 0
# Next-token logits depend on the previous token only: a fixed table, so every sequence's probability is known.
TABLE = jnp.asarray(np.random.default_rng(0).normal(size=(V, V)) * 2, jnp.float32)


def step(state, token):
  """The state is the batch's last token (leading axis: batch)."""
  del state
  return TABLE[token], token


def start(batch=2):
  first = jnp.asarray(np.random.default_rng(1).normal(size=(batch, V)) * 2, jnp.float32)
  return jnp.zeros((batch,), jnp.int32), first


def log_prob(first, sequence, eos=None):
  """The sequence's log-probability (up to and including the first EOS) and its length."""
  logp, logits, n = 0.0, first, 0
  for token in sequence:
    logp += float(jax.nn.log_softmax(logits)[token])
    n += 1
    if token == eos:
      break
    logits = TABLE[token]
  return logp, n


def test_beam_width_1_is_greedy():
  state, first = start()
  greedy = decode.greedy(step, state, first, 5)
  beams, _ = decode.beam_search(step, state, first, beam=1, length=5)
  np.testing.assert_array_equal(beams[:, 0], greedy)
  # and greedy is the argmax chain
  for b in range(2):
    logits, want = first[b], []
    for _ in range(5):
      want.append(int(jnp.argmax(logits)))
      logits = TABLE[want[-1]]
    assert greedy[b].tolist() == want


def test_beam_at_least_v_to_the_t_is_exhaustive_search():
  """Without EOS and with length normalization, the beam's ranking is the exhaustive ranking of all V^T."""
  state, first = start()
  length, alpha = 3, 0.7
  tokens, scores = decode.beam_search(step, state, first, beam=V ** length, length=length, eos=EOS, alpha=alpha)
  for b in range(2):
    every = {}
    for seq in itertools.product(range(V), repeat=length):
      logp, n = log_prob(first[b], seq, eos=EOS)
      trimmed = seq[:n] + (PAD,) * (length - n)
      every[trimmed] = logp / n ** alpha
    ranked = sorted(every.items(), key=lambda kv: -kv[1])
    assert tuple(tokens[b, 0].tolist()) == ranked[0][0]
    np.testing.assert_allclose(scores[b, 0], ranked[0][1], rtol=1e-5)
    # every distinct hypothesis appears once, in exhaustive order
    got = [tuple(t) for t in tokens[b].tolist()[:len(every)]]
    assert sorted(got) == sorted(every)
    np.testing.assert_allclose(scores[b, :len(every)], [s for _, s in ranked], rtol=1e-5)


def test_a_finished_hypothesis_is_never_extended():
  state, first = start()
  first = first.at[:, EOS].set(20.0)  # EOS first, almost surely
  tokens, scores = decode.beam_search(step, state, first, beam=3, length=4, eos=EOS)
  for b in range(2):
    for hyp in tokens[b].tolist():
      if EOS in hyp:
        assert all(t == PAD for t in hyp[hyp.index(EOS) + 1:]), hyp
    assert tokens[b, 0].tolist() == [EOS, PAD, PAD, PAD]
    np.testing.assert_allclose(scores[b, 0], float(jax.nn.log_softmax(first[b])[EOS]), rtol=1e-5)


def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p():
  probs = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
  logits = jnp.log(jnp.asarray(probs))[None]
  for p, kept in ((0.4, 1), (0.6, 2), (0.69, 2), (0.71, 3), (0.84, 3), (0.9, 4), (0.96, 5)):
    got = np.isfinite(np.asarray(decode.filter_logits(logits, top_p=p)[0]))
    want = np.zeros(5, bool)
    want[:kept] = True  # the kept set's mass reaches p, and no smaller set's does
    assert (got == want).all(), (p, got)
    assert probs[want].sum() >= p - 1e-9 and probs[:kept - 1].sum() < p


def test_top_k_temperature_and_sampling_draw_only_kept_tokens():
  logits = jnp.asarray([[0.0, 1.0, 2.0, 3.0]])
  filtered = decode.filter_logits(logits, temperature=0.5, top_k=2)
  np.testing.assert_array_equal(np.isfinite(filtered[0]), [False, False, True, True])
  np.testing.assert_allclose(filtered[0, 2:], [4.0, 6.0])
  state, first = start(batch=64)
  tokens = decode.sample(step, state, first, jax.random.PRNGKey(0), 6, top_k=1)
  np.testing.assert_array_equal(tokens, decode.greedy(step, state, first, 6))  # top-1 sampling is greedy
  drawn = decode.sample(step, state, first, jax.random.PRNGKey(1), 6, top_k=2)
  again = decode.sample(step, state, first, jax.random.PRNGKey(1), 6, top_k=2)
  np.testing.assert_array_equal(drawn, again)  # reproducible from the key
  top2 = np.argsort(np.asarray(TABLE), axis=-1)[:, -2:]
  assert all(t in top2[prev] for row in np.asarray(drawn) for prev, t in zip(row[:-1], row[1:]))
