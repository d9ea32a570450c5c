"""`--data=text:PATH`: a UTF-8 text file as windows of token ids, split contiguously into train/val/test."""

import dataclasses
import os

import numpy as np

from jaxdl.args import OpenUnit, PositiveInt
from jaxdl.data.source import Dataset
from jaxdl.data.tokenizers import CharTokenizer
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
              test_fraction: OpenUnit = 0.05) -> Dataset:
  """Character-level: the vocabulary is the training split's characters (saved in the workdir as vocab.json).
  The file is cut in order, train | val | test, so no window of val or test overlaps training text; `seed`
  only draws the training windows (through the loop's shuffled batches)."""
  del seed
  text = read_text(path)
  n_val, n_test = int(len(text) * val_fraction), int(len(text) * test_fraction)
  n_train = len(text) - n_val - n_test
  pieces = {"train": text[:n_train], "val": text[n_train:n_train + n_val], "test": text[n_train + n_val:]}
  short = [f"{name} ({len(piece)} characters)" for name, piece in pieces.items() if len(piece) < window + 1]
  if short:
    raise UsageError(f"--data=text:{path}: the {', '.join(short)} split is shorter than window + 1 = {window + 1} "
                     "characters; use a longer text, a smaller window or larger fractions")
  tokenizer = CharTokenizer.fit(pieces["train"])
  splits = {name: TextWindows(tokenizer.encode(piece), window, 1 if name == "train" else window)
            for name, piece in pieces.items()}
  return Dataset(splits, num_classes=tokenizer.vocab_size, artifacts={"vocab.json": tokenizer.to_json()})
