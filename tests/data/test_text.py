"""`--data=text:PATH`: the character tokenizer, contiguous splits, windows, and the two training orders."""

import itertools

import numpy as np

from jaxdl.data import pipeline, text
from jaxdl.data.tokenizers import UNKNOWN, CharTokenizer


def write_text(tmp_path, n=4000):
  rng = np.random.default_rng(0)
  body = "".join(rng.choice(list("abcdefgh \n"), size=n))
  path = tmp_path / "corpus.txt"
  path.write_text("abcdefgh \n" + body, encoding="utf-8")
  return str(path), path.read_text(encoding="utf-8")


def test_tokenizer_round_trip_unseen_characters_and_json():
  tok = CharTokenizer.fit("hello world")
  ids = tok.encode("hello world")
  assert tok.decode(ids) == "hello world" and ids.min() >= 1 and tok.vocab_size == len(set("hello world")) + 1
  unseen = tok.encode("hé€llo\U0001F600")
  assert unseen.tolist()[1:3] == [0, 0] and unseen[-1] == 0  # never seen in training: id 0, no crash
  assert tok.decode(unseen) == f"h{UNKNOWN}{UNKNOWN}llo{UNKNOWN}"
  assert CharTokenizer.from_json(tok.to_json()) == tok


def test_splits_are_contiguous_and_windows_cover_them(tmp_path):
  path, content = write_text(tmp_path)
  ds = text.load_text(path, seed=0, window=16, val_fraction=0.1, test_fraction=0.1)
  tok = CharTokenizer.from_json(ds.artifacts["vocab.json"])
  assert ds.num_classes == tok.vocab_size == 11
  pieces = [tok.decode(ds.splits[name].ids) for name in ("train", "val", "test")]
  assert "".join(pieces) == content  # train | val | test, in the file's order
  assert len(pieces[1]) == len(pieces[2]) == int(len(content) * 0.1)
  train, val = ds.splits["train"], ds.splits["val"]
  np.testing.assert_array_equal(train.read(np.array([5]))["tokens"][0], train.ids[5:22])  # every start position
  assert len(val) == (len(val.ids) - 17) // 16 + 1
  np.testing.assert_array_equal(val.read(np.array([2]))["tokens"][0], val.ids[32:49])  # val tiles its split


def _first(iterator, n):
  return [b["tokens"] for b in itertools.islice(iterator, n)]


def test_random_windows_are_drawn_from_the_seed(tmp_path):
  train = text.load_text(write_text(tmp_path)[0], seed=0, window=16).splits["train"]
  a, b = _first(pipeline.train_batches(train, 8, seed=0), 3), _first(pipeline.train_batches(train, 8, seed=0), 3)
  c = _first(pipeline.train_batches(train, 8, seed=1), 3)
  assert all((x == y).all() for x, y in zip(a, b)) and not all((x == y).all() for x, y in zip(a, c))


def test_consecutive_batches_continue_each_row(tmp_path):
  """Row b of step s + 1 starts where row b of step s ended (windows share their boundary token), until the
  stream ends and the row starts its stream again."""
  train = text.load_text(write_text(tmp_path)[0], seed=0, window=16).splits["train"]
  order = pipeline.ConsecutiveBatches(len(train), 16, 4)
  per_stream = len(train) // 4 // 16
  batches = _first(pipeline.train_batches(train, 4, seed=0, consecutive=True), per_stream + 1)
  for s in range(per_stream - 1):
    np.testing.assert_array_equal(batches[s + 1][:, 0], batches[s][:, -1])
    np.testing.assert_array_equal(batches[s][:, :-1].reshape(-1),
                                  np.concatenate([train.ids[i:i + 16] for i in order[s]]))
  np.testing.assert_array_equal(batches[per_stream], batches[0])
