"""`--data=text:PATH`: a UTF-8 text file as windows of token ids, split contiguously into train/val/test."""

import dataclasses
import os

import numpy as np

from jaxdl.args import OpenUnit, PositiveInt
from jaxdl.data.source import Dataset
from jaxdl.data.tokenizers import BPETokenizer, CharTokenizer
from jaxdl.errors import UsageError
from jaxdl.registry import datasets


@dataclasses.dataclass(frozen=True)
class TextWindows:
  """Example i is tokens[i * stride : i * stride + window + 1] (`{"tokens": (window + 1,)}`): inputs and their
  next-token targets. Training windows start at every position (stride 1, so shuffled batches are random windows);
  evaluation windows tile the split (stride = window), so every token is predicted once."""

  ids: np.ndarray  # (N,) int32
  window: int
  stride: int

  def __len__(self) -> int:
    return max(0, (len(self.ids) - self.window - 1) // self.stride + 1)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    starts = np.asarray(indices) * self.stride
    return {"tokens": self.ids[starts[:, None] + np.arange(self.window + 1)]}


def read_text(path: str) -> str:
  """The file's text, or one UsageError line saying why it cannot be used."""
  where = f"--data=text:{path}"
  if not path:
    raise UsageError("--data=text:PATH needs the path of a UTF-8 text file")
  if not os.path.isfile(path):
    raise UsageError(f"{where}: {'is a directory' if os.path.isdir(path) else 'no such file'}")
  with open(path, "rb") as f:
    raw = f.read()
  if not raw:
    raise UsageError(f"{where}: the file is empty")
  nul = raw.find(b"\0")
  if nul >= 0:
    raise UsageError(f"{where}: looks binary (NUL byte at offset {nul}); give a UTF-8 text file")
  try:
    return raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise UsageError(f"{where}: not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None


@datasets.register("text")
def load_text(path: str, seed: int, window: PositiveInt = 128, val_fraction: OpenUnit = 0.05,
              test_fraction: OpenUnit = 0.05, tokenizer: str = "char", vocab_size: PositiveInt = 512) -> Dataset:
  """`tokenizer=char`: the vocabulary is the training split's characters; `tokenizer=bpe`: byte-level BPE with
  `vocab_size` tokens learned from the training split (either saved in the workdir as vocab.json; windows count
  tokens). The file is cut in order, train | val | test, so no window of val or test overlaps training text;
  `seed` only draws the training windows (through the loop's shuffled batches)."""
  del seed
  text = read_text(path)
  n_val, n_test = int(len(text) * val_fraction), int(len(text) * test_fraction)
  n_train = len(text) - n_val - n_test
  pieces = {"train": text[:n_train], "val": text[n_train:n_train + n_val], "test": text[n_train + n_val:]}
  if tokenizer not in ("char", "bpe"):
    raise UsageError(f"--data_args tokenizer={tokenizer}: choose char or bpe")
  if tokenizer == "bpe" and vocab_size < 256:
    raise UsageError(f"--data_args vocab_size={vocab_size}: byte-level BPE needs at least the 256 bytes")
  fitted = CharTokenizer.fit(pieces["train"]) if tokenizer == "char" else BPETokenizer.fit(pieces["train"], vocab_size)
  ids = {name: fitted.encode(piece) for name, piece in pieces.items()}
  short = [f"{name} ({len(split)} tokens)" for name, split in ids.items() if len(split) < window + 1]
  if short:
    raise UsageError(f"--data=text:{path}: the {', '.join(short)} split is shorter than window + 1 = {window + 1} "
                     "tokens; use a longer text, a smaller window or larger fractions")
  splits = {name: TextWindows(split, window, 1 if name == "train" else window) for name, split in ids.items()}
  return Dataset(splits, num_classes=fitted.vocab_size, artifacts={"vocab.json": fitted.to_json()})
