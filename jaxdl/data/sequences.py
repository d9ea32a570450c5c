"""Generated sequence-to-sequence tasks (`--data=synthetic:reverse|sort|add`): variable-length token sequences
and the output the notes' encoder-decoder must produce, for seq2seq without a download.

Token ids: 0 pads, 1 begins a target (BOS), 2 ends one (EOS); symbols start at 3. A batch is
{"source": (B, S), "source_length": (B,), "target": (B, T)}: the target ends with EOS and is padded with 0.
"""

import dataclasses
import json

import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.data.source import Dataset
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

PAD, BOS, EOS, FIRST_SYMBOL = 0, 1, 2, 3


def symbols_artifact(names: list[str]) -> dict[str, str]:
  """The `symbols.json` data artifact: every token id's name (PAD, BOS, EOS, then the symbols), which a sampler
  reads back to print decoded sequences as words."""
  return {"symbols.json": json.dumps(["", "<s>", "</s>", *names])}


@dataclasses.dataclass(frozen=True)
class SequencePairs:
  """An in-memory split of (source, target) pairs, padded to the split's longest."""

  source: np.ndarray         # (N, S) int32
  source_length: np.ndarray  # (N,) int32
  target: np.ndarray         # (N, T) int32, EOS-terminated

  def __len__(self) -> int:
    return len(self.source)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    return {"source": self.source[indices], "source_length": self.source_length[indices],
            "target": self.target[indices]}


def _pad(rows: list[np.ndarray], width: int) -> np.ndarray:
  out = np.full((len(rows), width), PAD, np.int32)
  for i, row in enumerate(rows):
    out[i, :len(row)] = row
  return out


def _pairs(make, n: int, rng: np.random.Generator, source_width: int, target_width: int) -> SequencePairs:
  sources, targets = zip(*(make(rng) for _ in range(n)))
  return SequencePairs(_pad(sources, source_width), np.array([len(s) for s in sources], np.int32),
                       _pad([np.append(t, EOS) for t in targets], target_width + 1))


def _dataset(make, seed: int, train_size: int, val_size: int, test_size: int, source_width: int,
             target_width: int, names: list[str]) -> Dataset:
  rng = np.random.default_rng(seed)
  splits = {name: _pairs(make, n, rng, source_width, target_width)
            for name, n in (("train", train_size), ("val", val_size), ("test", test_size))}
  return Dataset(splits, num_classes=FIRST_SYMBOL + len(names), artifacts=symbols_artifact(names))


def _symbol_task(name: str, output, doc: str):
  """Registers `synthetic:NAME`: random symbol sequences of random length, each paired with output(source)."""

  def load(path: str, seed: int, num_symbols: PositiveInt = 10, min_length: PositiveInt = 1,
           max_length: PositiveInt = 20, train_size: PositiveInt = 20_000, val_size: PositiveInt = 1_000,
           test_size: PositiveInt = 1_000) -> Dataset:
    if min_length > max_length:
      raise UsageError(f"--data_args min_length={min_length} exceeds max_length={max_length}")

    def make(rng):
      source = rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + num_symbols, size=int(rng.integers(min_length,
                                                                                            max_length + 1)))
      return source, output(source)

    return _dataset(make, seed, train_size, val_size, test_size, max_length, max_length,
                    [str(i) for i in range(num_symbols)])

  load.__doc__ = doc
  return datasets.register(f"synthetic:{name}", load)


load_reverse = _symbol_task("reverse", lambda s: s[::-1], "The source sequence backwards: the notes' example of why "
                            "a fixed-size encoding is a bottleneck.")
load_sort = _symbol_task("sort", np.sort, "The source's symbols in ascending order.")


@datasets.register("synthetic:add")
def load_add(path: str, seed: int, max_digits: PositiveInt = 5, train_size: PositiveInt = 20_000,
             val_size: PositiveInt = 1_000, test_size: PositiveInt = 1_000) -> Dataset:
  """"a+b" (each of 1 to max_digits decimal digits) to the digits of the sum; symbols 0-9 then "+"."""
  plus = FIRST_SYMBOL + 10
  digits = lambda n: np.array([FIRST_SYMBOL + int(d) for d in str(n)])  # noqa: E731

  def make(rng):
    a, b = (int(rng.integers(0, 10 ** int(rng.integers(1, max_digits + 1)))) for _ in range(2))
    return np.concatenate([digits(a), [plus], digits(b)]), digits(a + b)

  return _dataset(make, seed, train_size, val_size, test_size, 2 * max_digits + 1, max_digits + 1,
                  [*"0123456789", "+"])
