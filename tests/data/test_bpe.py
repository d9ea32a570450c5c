"""Byte-level BPE: its merges against the notes' algorithm, byte-exact round trips of any input, and the text
source training it on the training split."""

import collections

import numpy as np

from jaxdl.data import text, tokenizers
from jaxdl.data.tokenizers import BPETokenizer
from tests.reference import bpe as ref


def test_merges_on_a_toy_corpus_follow_the_notes_algorithm():
  counts = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 6, "gun": 3}
  corpus = " ".join(w for w, n in counts.items() for _ in range(n))
  # Pre-tokenized as GPT-2 does: a word carries the space before it (the byte-level "Ġ").
  words = collections.Counter(("Ġ" if i else "") + w for i, w in enumerate(corpus.split(" ")))
  want = ref.merges({tuple(w): n for w, n in words.items()}, 8)  # raises if a step were a tie
  tok = BPETokenizer.fit(corpus, 256 + 8)
  assert tok.merges == want and tok.vocab_size == 256 + 8
  assert tok.encode("hugs pun").tolist() == [tok.tokenizer.token_to_id(t) for t in ("hug", "s", "Ġpun")]


def test_any_input_round_trips_byte_for_byte_and_the_vocabulary_reloads():
  tok = BPETokenizer.fit("the cat sat on the mat; the hat is flat. " * 30, 300)
  for s in ["the cat", "naïve café 👋🏽 ∑", "lone \ud800 and \udfff surrogates", "", " \n\t  x"]:
    assert tok.decode(tok.encode(s)) == s, s
  raw = b"\xff\xfe not utf-8 \xed\xa0\x80 \xc3"
  assert tok.decode_bytes(tok.encode(raw)) == raw
  again = tokenizers.from_json(tok.to_json())
  assert isinstance(again, BPETokenizer)
  assert again.encode("the flat mat").tolist() == tok.encode("the flat mat").tolist()
  assert len(tok.encode("the cat sat")) < len("the cat sat")  # merged


def test_text_source_trains_bpe_on_the_training_split(tmp_path):
  path = tmp_path / "corpus.txt"
  rng = np.random.default_rng(0)
  path.write_text(" ".join(rng.choice(["to", "be", "or", "not", "that", "is"], size=3000)), encoding="utf-8")
  ds = text.load_text(str(path), seed=0, window=16, tokenizer="bpe", vocab_size=280)
  tok = tokenizers.from_json(ds.artifacts["vocab.json"])
  assert isinstance(tok, BPETokenizer) and ds.num_classes == tok.vocab_size <= 280
  train = ds.splits["train"]
  assert train.ids.max() < ds.num_classes and tok.decode(train.ids).startswith(path.read_text()[:50])
