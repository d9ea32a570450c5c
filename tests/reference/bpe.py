"""The notes' BPE merge algorithm in plain Python: start from single symbols, repeatedly merge the most frequent
adjacent pair (counted over the corpus's words, each as often as it occurs)."""

import collections


def merges(word_counts: dict[tuple[str, ...], int], steps: int) -> list[tuple[str, str]]:
  """The first `steps` merges. Raises if the most frequent pair is ever tied (the order would be arbitrary)."""
  words = dict(word_counts)
  out = []
  for _ in range(steps):
    pairs = collections.Counter()
    for word, count in words.items():
      for pair in zip(word, word[1:]):
        pairs[pair] += count
    (best, n), *rest = pairs.most_common() or [(None, 0)]
    if best is None:
      break
    if rest and rest[0][1] == n:
      raise ValueError(f"tie between {best} and {rest[0][0]} ({n} each)")
    out.append(best)
    merged = {}
    for word, count in words.items():
      symbols, i = [], 0
      while i < len(word):
        if word[i:i + 2] == best:
          symbols.append(word[i] + word[i + 1])
          i += 2
        else:
          symbols.append(word[i])
          i += 1
      merged[tuple(symbols)] = merged.get(tuple(symbols), 0) + count
    words = merged
  return out
