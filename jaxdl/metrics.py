"""Sequence metrics computed on the host from decoded token ids: corpus BLEU (Papineni et al. 2002)."""

import collections
import math
from collections.abc import Sequence


def _ngrams(tokens: Sequence, n: int) -> collections.Counter:
  return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(references: Sequence[Sequence], hypotheses: Sequence[Sequence], max_n: int = 4) -> float:
  """Corpus BLEU-`max_n` with one reference per hypothesis: the geometric mean of the clipped n-gram precisions
  (n = 1..max_n, counts summed over the corpus) times the brevity penalty exp(1 - r / c) when the hypotheses'
  total length c is below the references' r. 0 if some order has no match."""
  matches, totals = [0] * max_n, [0] * max_n
  ref_length = hyp_length = 0
  for reference, hypothesis in zip(references, hypotheses, strict=True):
    ref_length, hyp_length = ref_length + len(reference), hyp_length + len(hypothesis)
    for n in range(1, max_n + 1):
      counts, ref_counts = _ngrams(hypothesis, n), _ngrams(reference, n)
      matches[n - 1] += sum(min(c, ref_counts[g]) for g, c in counts.items())
      totals[n - 1] += max(len(hypothesis) - n + 1, 0)
  if hyp_length == 0 or min(matches) == 0:
    return 0.0
  log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
  brevity = 1.0 if hyp_length >= ref_length else math.exp(1 - ref_length / hyp_length)
  return brevity * math.exp(log_precision)
