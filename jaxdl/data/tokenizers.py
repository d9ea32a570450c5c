"""Tokenizers that turn text into integer ids and back, saved as JSON beside a run (`vocab.json`): one id per
character, or byte-level BPE (GPT-2's) trained with the `tokenizers` library."""

import dataclasses
import json
import re

import numpy as np
import tokenizers

UNKNOWN = "\ufffd"  # what a character the training text never had decodes to (id 0)


@dataclasses.dataclass(frozen=True)
class CharTokenizer:
  """One id per character of the training text (sorted), id 0 for any character it never saw: text the
  model was not trained on (a prompt, the test split) encodes without failing."""

  chars: str
  unknown_id = 0  # what no sampler may emit: it stands for no character of the training text

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

  def unknown_in(self, text: str) -> str:
    """The characters of `text` the training text never had, each once, in order."""
    known = set(self.chars)
    return "".join(dict.fromkeys(c for c in text if c not in known))

  def decode(self, ids) -> str:
    return "".join(UNKNOWN if i <= 0 or i > len(self.chars) else self.chars[i - 1] for i in np.asarray(ids).tolist())

  def to_json(self) -> str:
    return json.dumps({"kind": "char", "chars": self.chars}, ensure_ascii=True)

  @classmethod
  def from_json(cls, text: str) -> "CharTokenizer":
    return cls(json.loads(text)["chars"])


def _byte_chars() -> list[str]:
  """GPT-2's printable stand-in for each byte: printable Latin-1 bytes stand for themselves, the others (space,
  controls) for characters from U+0100 on, so that every byte sequence is a string BPE can merge."""
  keep = {*range(ord("!"), ord("~") + 1), *range(ord("\xa1"), ord("\xac") + 1), *range(ord("\xae"), ord("\xff") + 1)}
  extra = iter(range(256, 512))
  return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


BYTE_CHARS = _byte_chars()
CHAR_BYTES = {c: b for b, c in enumerate(BYTE_CHARS)}
# GPT-2's pre-tokenization on bytes (ASCII classes): merges never cross these pieces' borders.
PIECES = re.compile(rb"'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def _pieces(data: bytes) -> list[str]:
  return ["".join(BYTE_CHARS[b] for b in piece) for piece in PIECES.findall(data)]


def _as_bytes(text: str | bytes) -> bytes:
  """A str as UTF-8, lone surrogates kept (surrogatepass), so that decoding gives the same str back."""
  return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


@dataclasses.dataclass(frozen=True)
class BPETokenizer:
  """Byte-level BPE (Sennrich et al. 2016; GPT-2's byte alphabet): the vocabulary starts from the 256 bytes, so
  any input encodes (no unknown token) and decodes back byte for byte, invalid UTF-8 and lone surrogates
  included. Training and encoding are the `tokenizers` library's BPE."""

  tokenizer: tokenizers.Tokenizer
  unknown_id = None  # every byte has a token

  @classmethod
  def fit(cls, text: str | bytes, vocab_size: int) -> "BPETokenizer":
    """Merges learned from `text` until the vocabulary holds `vocab_size` tokens (or no pair repeats)."""
    model = tokenizers.Tokenizer(tokenizers.models.BPE())
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=BYTE_CHARS,
                                             show_progress=False)
    model.train_from_iterator(_pieces(_as_bytes(text)), trainer=trainer)
    return cls(model)

  @property
  def vocab_size(self) -> int:
    return self.tokenizer.get_vocab_size()

  def encode(self, text: str | bytes) -> np.ndarray:
    pieces = _pieces(_as_bytes(text))
    return np.asarray(self.tokenizer.encode(pieces, is_pretokenized=True).ids if pieces else [], np.int32)

  def unknown_in(self, text: str) -> str:
    del text
    return ""  # any text encodes

  def decode_bytes(self, ids) -> bytes:
    return bytes(CHAR_BYTES[c] for i in np.asarray(ids).tolist() for c in self.tokenizer.id_to_token(i))

  def decode(self, ids) -> str:
    """The text the ids stand for: what `encode` was given, lone surrogates included; where the bytes are not
    UTF-8 at all (a sample cut mid-character), U+FFFD stands for the broken bytes."""
    data = self.decode_bytes(ids)
    try:
      return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
      return data.decode("utf-8", "replace")

  @property
  def merges(self) -> list[tuple[str, str]]:
    """The learned merges, first first, as pairs of byte-level tokens."""
    merges = json.loads(self.tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]

  def to_json(self) -> str:
    return json.dumps({"kind": "bpe", "tokenizer": self.tokenizer.to_str()})

  @classmethod
  def from_json(cls, text: str) -> "BPETokenizer":
    return cls(tokenizers.Tokenizer.from_str(json.loads(text)["tokenizer"]))


def from_json(text: str) -> CharTokenizer | BPETokenizer:
  """The tokenizer a run saved (its vocab.json), of whichever kind."""
  kind = json.loads(text).get("kind", "char")
  return {"char": CharTokenizer, "bpe": BPETokenizer}[kind].from_json(text)
