"""`--data=synthetic:captions`: generated images of two coloured shapes and a caption saying where one is
relative to the other ("red circle above blue square"; the colour earlier in red, green, blue, yellow comes
first), for image captioning without a download.

A batch is {"image": (B, S, S, 3) in [0, 1], "target": (B, 6)}: five word ids then EOS (ids as in
`jaxdl.data.sequences`, words from FIRST_SYMBOL on, in the order of WORDS).
"""

import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.data.sequences import EOS, FIRST_SYMBOL, symbols_artifact
from jaxdl.data.source import Arrays, Dataset
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 0.8, 0.1), "blue": (0.15, 0.3, 1.0), "yellow": (1.0, 0.9, 0.1)}
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("above", "below", "left", "right")  # "left" and "right" read "left of" / "right of"
WORDS = (*COLOURS, *SHAPES, *RELATIONS)


def shape_mask(shape: str, size: int) -> np.ndarray:
  """A size x size boolean mask of the shape (circle, square, triangle, diamond), filling its box."""
  y, x = np.mgrid[:size, :size] + 0.5
  if shape == "circle":
    return (y - size / 2) ** 2 + (x - size / 2) ** 2 <= (size / 2) ** 2
  if shape == "square":
    return np.ones((size, size), bool)
  if shape == "diamond":
    return np.abs(x - size / 2) + np.abs(y - size / 2) <= size / 2
  return np.abs(x - size / 2) <= y / 2  # a triangle standing on its base


def draw(rng: np.random.Generator, image_size: int) -> tuple[np.ndarray, list[str]]:
  """One image and its caption words: colour shape relation colour shape."""
  box = image_size // 3
  # The colour earlier in COLOURS is named first, so that an image has one caption, not two ("red circle above
  # blue square" and "blue square below red circle" would each be right half the time).
  (c1, c2), (s1, s2) = sorted(rng.choice(len(COLOURS), 2, replace=False)), rng.choice(SHAPES, 2)
  c1, c2 = list(COLOURS)[c1], list(COLOURS)[c2]
  relation = RELATIONS[rng.integers(4)]
  # The first shape's box and the second's, apart along the relation's axis and nearly aligned across it, so
  # that no other relation holds.
  along = rng.integers(0, image_size - 2 * box - 1)
  offset = rng.integers(0, image_size - box)
  across = [offset, int(np.clip(offset + rng.integers(-(box // 3), box // 3 + 1), 0, image_size - box))]
  first, second = (along, along + box + 1 + rng.integers(0, image_size - 2 * box - along))
  if relation in ("below", "right"):
    first, second = second, first
  corners = [(first, across[0]), (second, across[1])] if relation in ("above", "below") else \
      [(across[0], first), (across[1], second)]
  image = np.full((image_size, image_size, 3), 0.05, np.float32)
  for (top, left), colour, shape in zip(corners, (c1, c2), (s1, s2)):
    mask = shape_mask(shape, box)
    image[top:top + box, left:left + box][mask] = COLOURS[colour]
  return image, [str(c1), str(s1), relation, str(c2), str(s2)]


def caption_ids(words: list[str]) -> np.ndarray:
  return np.array([FIRST_SYMBOL + WORDS.index(w) for w in words] + [EOS], np.int32)


@datasets.register("synthetic:captions")
def load_captions(path: str, seed: int, image_size: PositiveInt = 32, train_size: PositiveInt = 10_000,
                  val_size: PositiveInt = 500, test_size: PositiveInt = 500) -> Dataset:
  """Seeded; every split is drawn independently from the same distribution."""
  if image_size < 12:
    raise UsageError(f"--data_args image_size={image_size}: captions need at least 12x12 images")
  rng = np.random.default_rng(seed)

  def split(n):
    images, words = zip(*(draw(rng, image_size) for _ in range(n)))
    return Arrays({"image": np.stack(images), "target": np.stack([caption_ids(w) for w in words])})

  return Dataset({"train": split(train_size), "val": split(val_size), "test": split(test_size)},
                 num_classes=FIRST_SYMBOL + len(WORDS), artifacts=symbols_artifact(list(WORDS)))
