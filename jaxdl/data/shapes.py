"""`--data=shapes`: generated scenes for detection and segmentation without a download: RGB images of 1 to
`max_objects` shapes (circle, square, triangle, diamond: the captioning data's drawing) in random colours, sizes
and positions, overlapping where they fall, on a textured background, each with its class, box and instance mask.

Batches have static shapes: each image carries `max_objects` slots, `box_mask` saying which hold an object.
{"image": (S, S, 3) in [0, 1], "boxes": (M, 4) x1, y1, x2, y2 in pixels, "labels": (M,) int32 from 0,
"box_mask": (M,) bool, "masks": (M, S, S) bool}. A mask is what can be seen of its object (later shapes cover
earlier ones), its box is the mask's; a shape covered beyond `min_visible` of its area is left out of the scene.
"""

import numpy as np

from jaxdl.args import OpenUnit, PositiveInt
from jaxdl.data.captions import shape_mask
from jaxdl.data.source import Arrays, Dataset
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

CLASSES = ("circle", "square", "triangle", "diamond")


def background(rng: np.random.Generator, size: int) -> np.ndarray:
  """A dim colour with a few soft stripes and pixel noise: texture a detector must learn to ignore."""
  y, x = np.mgrid[:size, :size] / size
  stripes = sum(np.sin(2 * np.pi * (rng.uniform(1, 4) * (np.cos(a) * x + np.sin(a) * y) + rng.uniform()))
                for a in rng.uniform(0, np.pi, 3))
  base = rng.uniform(0.05, 0.3, 3)
  image = base + 0.04 * stripes[..., None] + rng.normal(0, 0.02, (size, size, 3))
  return np.clip(image, 0, 1).astype(np.float32)


def scene(rng: np.random.Generator, size: int, max_objects: int, min_size: int, min_visible: float) -> dict:
  """One image and its objects, padded to `max_objects` slots."""
  image = background(rng, size)
  objects = []  # (class, visible mask)
  for _ in range(rng.integers(1, max_objects + 1)):
    side = int(rng.integers(min_size, size // 2 + 1))
    top, left = rng.integers(0, size - side + 1, 2)
    label = int(rng.integers(len(CLASSES)))
    mask = np.zeros((size, size), bool)
    mask[top:top + side, left:left + side] = shape_mask(CLASSES[label], side)
    image[mask] = rng.uniform(0.45, 1.0, 3) * rng.permutation([1.0, rng.uniform(0.2, 1), rng.uniform(0, 0.5)])
    objects = [(c, m & ~mask, full) for c, m, full in objects] + [(label, mask, mask.sum())]
  objects = [(c, m) for c, m, full in objects if m.sum() >= min_visible * full]
  boxes, labels, masks = np.zeros((max_objects, 4), np.float32), np.zeros(max_objects, np.int32), \
      np.zeros((max_objects, size, size), bool)
  for slot, (label, mask) in enumerate(objects):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    boxes[slot] = [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
    labels[slot], masks[slot] = label, mask
  return {"image": image, "boxes": boxes, "labels": labels, "box_mask": np.arange(max_objects) < len(objects),
          "masks": masks}


@datasets.register("shapes")
def load_shapes(path: str, seed: int, image_size: PositiveInt = 64, max_objects: PositiveInt = 6,
                min_size: PositiveInt = 8, min_visible: OpenUnit = 0.3, train_size: PositiveInt = 2000,
                val_size: PositiveInt = 200, test_size: PositiveInt = 200) -> Dataset:
  """Seeded: the same `--seed` draws the same scenes; every split is drawn independently."""
  del path
  if min_size > image_size // 2:
    raise UsageError(f"--data_args min_size={min_size} exceeds half the image ({image_size // 2} pixels)")
  rng = np.random.default_rng(seed)

  def split(n):
    scenes = [scene(rng, image_size, max_objects, min_size, min_visible) for _ in range(n)]
    return Arrays({key: np.stack([s[key] for s in scenes]) for key in scenes[0]})

  return Dataset({"train": split(train_size), "val": split(val_size), "test": split(test_size)},
                 num_classes=len(CLASSES))
