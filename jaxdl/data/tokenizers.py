"""Tokenizers that turn text into integer ids and back, saved as JSON beside a run (`vocab.json`)."""

import dataclasses
import json

import numpy as np

UNKNOWN = "\ufffd"  # what a character the training text never had decodes to (id 0)


@dataclasses.dataclass(frozen=True)
class CharTokenizer:
  """One id per character of the training text (sorted), id 0 for any character it never saw: text the
  model was not trained on (a prompt, the test split) encodes without failing."""

  chars: str

  @classmethod
  def fit(cls, text: str) -> "CharTokenizer":
    return cls("".join(sorted(set(text))))

  @property
  def vocab_size(self) -> int:
    return len(self.chars) + 1

  def encode(self, text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    table = np.frombuffer(self.chars.encode("utf-32-le"), np.uint32)  # sorted, as `fit` made it
    where = np.minimum(np.searchsorted(table, codes), len(table) - 1)
    return np.where(table[where] == codes, where + 1, 0).astype(np.int32)

  def decode(self, ids) -> str:
    return "".join(UNKNOWN if i <= 0 or i > len(self.chars) else self.chars[i - 1] for i in np.asarray(ids).tolist())

  def to_json(self) -> str:
    return json.dumps({"kind": "char", "chars": self.chars}, ensure_ascii=True)

  @classmethod
  def from_json(cls, text: str) -> "CharTokenizer":
    return cls(json.loads(text)["chars"])
