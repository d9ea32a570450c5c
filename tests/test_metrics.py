"""Corpus BLEU against hand-counted n-gram precisions and the brevity penalty; the batched JAX counts against
the host count."""

import math

import jax
import numpy as np
import pytest

from jaxdl.metrics import bleu, bleu_counts, bleu_from_counts, replace_counts_by_bleu


def test_identical_corpus_scores_one_and_a_disjoint_one_zero():
  refs = ["red circle above blue square".split(), "green triangle left of red circle".split()]
  assert bleu(refs, refs) == pytest.approx(1.0)
  assert bleu(refs, [["x"] * 5, ["y"] * 6]) == 0.0


def test_clipped_precisions_and_brevity_penalty_counted_by_hand():
  ref = "the cat sat on the mat".split()
  hyp = "the the cat sat on mat".split()
  # unigrams: the x2 (ref has 2) + cat, sat, on, mat = 6/6; bigrams: (the the) no, (the cat), (cat sat), (sat on)
  # yes, (on mat) no = 3/5; trigrams: (the cat sat), (cat sat on) = 2/4; 4-grams: (the cat sat on) = 1/3.
  want = math.exp((math.log(6 / 6) + math.log(3 / 5) + math.log(2 / 4) + math.log(1 / 3)) / 4)
  assert bleu([ref], [hyp]) == pytest.approx(want)
  # A hypothesis of 4 tokens against a reference of 6, all 4-grams right: precision 1, penalty exp(1 - 6/4).
  assert bleu([ref], [ref[:4]]) == pytest.approx(math.exp(1 - 6 / 4))
  # Repeating a correct word earns it once per occurrence in the reference (clipping).
  assert bleu([["a", "b"]], [["a", "a", "a"]], max_n=1) == pytest.approx(1 / 3)


def test_batched_counts_in_jax_give_the_host_bleu_per_sentence_and_per_corpus():
  """`bleu_counts` (jitted, fixed shapes, sequences cut at their first EOS) against the hand-checked host count."""
  rng = np.random.default_rng(0)
  eos = 2
  hyp = rng.integers(3, 6, size=(64, 9))  # 3 symbols, so n-grams repeat and clipping matters
  ref = np.where(rng.random((64, 9)) < 0.7, hyp, rng.integers(3, 6, size=(64, 9)))
  for x in (hyp, ref):  # an EOS at a random place (or none) in each row; after it, anything
    ends = rng.integers(0, 12, size=64)
    x[ends[:, None] == np.arange(9)] = eos
  counts = jax.device_get(jax.jit(bleu_counts, static_argnums=2)(hyp, ref, eos))
  cut = lambda row: list(row[:list(row).index(eos)]) if eos in row else list(row)  # noqa: E731
  refs, hyps = [cut(r) for r in ref], [cut(h) for h in hyp]
  for i in range(64):
    assert bleu_from_counts({k: v[i] for k, v in counts.items()}) == pytest.approx(bleu([refs[i]], [hyps[i]]))
  means = {k: float(v.mean()) for k, v in counts.items()}
  corpus = replace_counts_by_bleu({**means, "exact_match": 0.5})
  assert corpus == {"exact_match": 0.5, "bleu": pytest.approx(bleu(refs, hyps))} and 0.2 < corpus["bleu"] < 0.9
