"""Corpus BLEU against hand-counted n-gram precisions and the brevity penalty."""

import math

import pytest

from jaxdl.metrics import bleu


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
