"""`synthetic:captions`: every caption is true of its image, only one relation is, and the colours come in one
order (so that each image has one caption)."""

import numpy as np

from jaxdl import data
from jaxdl.data.captions import COLOURS, RELATIONS, SHAPES, WORDS
from jaxdl.data.sequences import EOS, FIRST_SYMBOL


def test_each_caption_names_the_colours_and_the_one_relation_the_image_shows():
  ds = data.load("synthetic:captions", "train_size=200,val_size=4,test_size=4", seed=0)
  batch = ds.splits["train"].read(np.arange(200))
  assert batch["image"].shape == (200, 32, 32, 3) and ds.num_classes == FIRST_SYMBOL + len(WORDS)
  seen = set()
  for image, target in zip(batch["image"], batch["target"]):
    assert target[-1] == EOS
    c1, s1, relation, c2, s2 = (WORDS[t - FIRST_SYMBOL] for t in target[:-1])
    assert c1 in COLOURS and c2 in COLOURS and s1 in SHAPES and s2 in SHAPES and relation in RELATIONS
    assert list(COLOURS).index(c1) < list(COLOURS).index(c2)
    centres = []
    for colour in (c1, c2):
      ys, xs = np.nonzero(np.all(np.isclose(image, COLOURS[colour]), axis=-1))
      assert len(ys) > 10, colour
      centres.append((ys.mean(), xs.mean()))
    dy, dx = centres[1][0] - centres[0][0], centres[1][1] - centres[0][1]  # from the first shape to the second
    holds = {"above": dy > 0, "below": dy < 0, "left": dx > 0, "right": dx < 0}
    assert holds[relation] and abs(dy if relation in ("above", "below") else dx) > 2 * abs(
        dx if relation in ("above", "below") else dy), (relation, dy, dx)
    seen.add(relation)
  assert seen == set(RELATIONS)
