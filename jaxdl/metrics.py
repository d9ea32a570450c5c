"""Corpus BLEU (Papineni et al. 2002), one reference per hypothesis.

Corpus BLEU is a function of n-gram counts summed over the corpus, not a mean of per-sentence scores. So an
evaluation counts per example in JAX (`bleu_counts`, batched and jitted with the rest of eval_fn), the loop
averages the counts like any per-example metric, and `bleu_from_counts` turns the averages into the score
(averages and sums give the same ratios). `bleu` does the same on the host for token lists.
"""

import collections
import math
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp


def _count_names(max_n: int) -> list[str]:
  return [f"bleu_matches_{n}" for n in range(1, max_n + 1)] + [f"bleu_ngrams_{n}" for n in range(1, max_n + 1)] + \
      ["bleu_hypothesis_length", "bleu_reference_length"]


def bleu_from_counts(counts: Mapping[str, float], max_n: int = 4) -> float:
  """The geometric mean of the clipped n-gram precisions (n = 1..max_n) times the brevity penalty
  exp(1 - r / c) when the hypotheses' length c is below the references' r; 0 if some order has no match."""
  matches = [counts[f"bleu_matches_{n}"] for n in range(1, max_n + 1)]
  ngrams = [counts[f"bleu_ngrams_{n}"] for n in range(1, max_n + 1)]
  hyp, ref = counts["bleu_hypothesis_length"], counts["bleu_reference_length"]
  if hyp == 0 or min(matches) == 0:
    return 0.0
  log_precision = sum(math.log(m / t) for m, t in zip(matches, ngrams)) / max_n
  return (1.0 if hyp >= ref else math.exp(1 - ref / hyp)) * math.exp(log_precision)


def replace_counts_by_bleu(metrics: Mapping[str, float], max_n: int = 4) -> dict[str, float]:
  """`metrics` with the averaged `bleu_counts` entries replaced by the one "bleu" score they give."""
  names = _count_names(max_n)
  return {**{k: v for k, v in metrics.items() if k not in names}, "bleu": bleu_from_counts(metrics, max_n)}


def _ngrams(tokens: Sequence, n: int) -> collections.Counter:
  return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(references: Sequence[Sequence], hypotheses: Sequence[Sequence], max_n: int = 4) -> float:
  """Corpus BLEU-`max_n` of token lists (any hashable tokens)."""
  counts = dict.fromkeys(_count_names(max_n), 0)
  for reference, hypothesis in zip(references, hypotheses, strict=True):
    counts["bleu_reference_length"] += len(reference)
    counts["bleu_hypothesis_length"] += len(hypothesis)
    for n in range(1, max_n + 1):
      hyp_counts, ref_counts = _ngrams(hypothesis, n), _ngrams(reference, n)
      counts[f"bleu_matches_{n}"] += sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
      counts[f"bleu_ngrams_{n}"] += max(len(hypothesis) - n + 1, 0)
  return bleu_from_counts(counts, max_n)


def bleu_counts(hypothesis: jax.Array, reference: jax.Array, eos: int, max_n: int = 4) -> dict[str, jax.Array]:
  """Per-example BLEU counts (each (B,)) of token ids (B, T), each sequence read up to its first `eos` (excluded;
  the whole row if it has none). The clipped count of an n-gram g is min(count in hypothesis, count in
  reference); summed over the hypothesis' positions as min(c_h, c_r) / c_h it needs no dictionary."""
  def length(x):
    return jnp.where((x == eos).any(1), jnp.argmax(x == eos, axis=1), x.shape[1])

  hyp_len, ref_len = length(hypothesis), length(reference)
  counts = {"bleu_hypothesis_length": hyp_len.astype(jnp.float32),
            "bleu_reference_length": ref_len.astype(jnp.float32)}
  for n in range(1, max_n + 1):
    positions = hypothesis.shape[1] - n + 1
    if positions <= 0:
      counts[f"bleu_matches_{n}"] = counts[f"bleu_ngrams_{n}"] = jnp.zeros(hyp_len.shape, jnp.float32)
      continue
    grams = lambda x: jnp.stack([x[:, i:i + positions] for i in range(n)], axis=-1)  # noqa: E731  (B, P, n)
    hyp, ref = grams(hypothesis), grams(reference)
    in_hyp = jnp.arange(positions) + n <= hyp_len[:, None]  # (B, P)
    in_ref = jnp.arange(positions) + n <= ref_len[:, None]
    same = lambda a, b, valid: ((a[:, :, None] == b[:, None]).all(-1) & valid[:, None]).sum(-1)  # noqa: E731
    in_hyp_count, in_ref_count = same(hyp, hyp, in_hyp), same(hyp, ref, in_ref)
    clipped = jnp.minimum(in_hyp_count, in_ref_count) / jnp.maximum(in_hyp_count, 1)
    counts[f"bleu_matches_{n}"] = jnp.round(jnp.where(in_hyp, clipped, 0.0).sum(1))
    counts[f"bleu_ngrams_{n}"] = jnp.maximum(hyp_len - n + 1, 0).astype(jnp.float32)
  return counts
