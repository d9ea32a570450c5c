"""Input pipeline: images/s that `--data=folder:DIR` decodes and resizes into training batches with 0 (the
training process itself), 1, 2 and 4 grain worker processes, on a generated tree of JPEG files.

Each setting reads the same batches (the first two, which start the workers, are not timed). Prints one JSON
line per setting; `speedup` is its images/s over the 0-worker rate measured in the same run.

  python bench/input_pipeline.py [--images=2000] [--size=64] [--image_size=32] [--batches=150]
"""

import json
import os
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

from jaxdl import data
from jaxdl.data import pipeline

_IMAGES = flags.DEFINE_integer("images", 2000, "JPEG files in the generated tree (10 classes).")
_SIZE = flags.DEFINE_integer("size", 64, "Side of each generated JPEG.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 32, "Side the pipeline resizes to.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Images per batch.")
_BATCHES = flags.DEFINE_integer("batches", 150, "Timed batches per setting (enough that what the workers "
                                "buffer is a small part of them).")


def make_tree(root: str, count: int, size: int) -> None:
  rng = np.random.default_rng(0)
  for i in range(count):
    directory = os.path.join(root, f"class_{i % 10}")
    os.makedirs(directory, exist_ok=True)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(os.path.join(directory, f"{i:05d}.jpg"), quality=90)


def images_per_second(root: str, workers: int) -> float:
  dataset = data.load(f"folder:{root}", f"image_size={_IMAGE_SIZE.value},workers={workers}")
  batches = pipeline.train_batches(dataset.splits["train"], _BATCH.value, seed=0)
  try:
    for _ in range(2):
      next(batches)
    start = time.perf_counter()
    for _ in range(_BATCHES.value):
      next(batches)
    return _BATCHES.value * _BATCH.value / (time.perf_counter() - start)
  finally:
    batches.close()


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as root:
    make_tree(root, _IMAGES.value, _SIZE.value)
    base = None
    for workers in (0, 1, 2, 4):
      rate = images_per_second(root, workers)
      base = base or rate
      print(json.dumps({"bench": "input_pipeline", "workers": workers, "images_per_s": round(rate, 1),
                        "speedup": round(rate / base, 2), "jpeg": _SIZE.value, "image_size": _IMAGE_SIZE.value,
                        "cpus": os.cpu_count()}))


if __name__ == "__main__":
  app.run(main)
