"""`--data=coco:DIR`: object detection data in the COCO format users have. By default
DIR/annotations/instances_{train,val,test}.json (test optional) with each split's images under DIR/{train,val,test}/
at their entries' `file_name`; `--data_args` renames both (COCO 2017: train_images=train2017,
train_annotations=annotations/instances_train2017.json, and so on).

Boxes are COCO's [x, y, w, h], served as x1, y1, x2, y2 in pixels of the image resized to `image_size` square;
category ids map to contiguous classes 0..K-1 in id order (categories.json, a run artifact, maps them back); crowd
annotations (`iscrowd`) stay in their slots, flagged in `crowd`, as COCO's evaluation ignores them. A batch is
{"image", "boxes", "labels", "box_mask", "crowd"} with `max_objects` slots per image (an image with more is an
error naming it). Images are decoded when a batch is read. `write` stores any such dataset as a COCO tree (the
shapes generator's splits, which is how the loader is tested).
"""

import dataclasses
import json
import os

import numpy as np
from PIL import Image

from jaxdl.args import PositiveInt
from jaxdl.data.folder import decode_image
from jaxdl.data.source import Dataset
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

@dataclasses.dataclass(frozen=True)
class CocoSource:
  """One split: image files and their padded object arrays, the images decoded on read."""

  files: tuple[str, ...]
  objects: dict[str, np.ndarray]  # boxes (N, M, 4), labels (N, M), box_mask (N, M), crowd (N, M)
  image_size: int

  def __len__(self) -> int:
    return len(self.files)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    indices = np.asarray(indices)
    images = np.stack([decode_image(self.files[i], self.image_size, 3) for i in indices])
    return {"image": images, **{name: array[indices] for name, array in self.objects.items()}}


def _read_json(path: str) -> dict:
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    raise UsageError(f"--data=coco: no annotations file {path}") from None
  except json.JSONDecodeError as e:
    raise UsageError(f"--data=coco: {path} is not JSON ({e.msg} at line {e.lineno})") from None


def _split(annotations_path: str, image_dir: str, classes: dict[int, int], image_size: int, max_objects: int):
  data = _read_json(annotations_path)
  images = {image["id"]: image for image in data.get("images", [])}
  if not images:
    raise UsageError(f"--data=coco: {annotations_path} lists no images")
  ids = sorted(images)
  slot = {image_id: n for n, image_id in enumerate(ids)}
  objects = {"boxes": np.zeros((len(ids), max_objects, 4), np.float32),
             "labels": np.zeros((len(ids), max_objects), np.int32),
             "box_mask": np.zeros((len(ids), max_objects), bool), "crowd": np.zeros((len(ids), max_objects), bool)}
  filled = np.zeros(len(ids), int)
  for a in data.get("annotations", []):
    where = f"{annotations_path}: annotation {a.get('id')}"
    box = a.get("bbox")
    if a.get("image_id") not in images or a.get("category_id") not in classes:
      raise UsageError(f"{where} names an image or category the file does not list")
    if not (isinstance(box, list) and len(box) == 4 and box[2] >= 0 and box[3] >= 0):
      raise UsageError(f"{where}: bbox {box!r} is not [x, y, w, h] with w, h >= 0")
    n, image = slot[a["image_id"]], images[a["image_id"]]
    if filled[n] == max_objects:
      raise UsageError(f"{where}: image {image.get('file_name')} has more than max_objects={max_objects} objects; "
                       "raise --data_args max_objects")
    sx, sy = image_size / image["width"], image_size / image["height"]
    x, y, w, h = box
    objects["boxes"][n, filled[n]] = [x * sx, y * sy, (x + w) * sx, (y + h) * sy]
    objects["labels"][n, filled[n]] = classes[a["category_id"]]
    objects["box_mask"][n, filled[n]] = True
    objects["crowd"][n, filled[n]] = bool(a.get("iscrowd", 0))
    filled[n] += 1
  files = tuple(os.path.join(image_dir, images[i]["file_name"]) for i in ids)
  missing = next((f for f in files if not os.path.isfile(f)), None)
  if missing:
    raise UsageError(f"--data=coco: {annotations_path} lists {missing}, which does not exist")
  return CocoSource(files, objects, image_size)


@datasets.register("coco")
def load_coco(path: str, seed: int, image_size: PositiveInt = 64, max_objects: PositiveInt = 50,
              train_images: str = "train", val_images: str = "val", test_images: str = "test",
              train_annotations: str = "annotations/instances_train.json",
              val_annotations: str = "annotations/instances_val.json",
              test_annotations: str = "annotations/instances_test.json") -> Dataset:
  """The COCO tree at `path`; the test split only where its annotations file exists."""
  del seed  # the splits are the tree's
  if not os.path.isdir(path):
    raise UsageError(f"--data=coco:{path}: no such directory")
  names = {"train": (train_annotations, train_images), "val": (val_annotations, val_images),
           "test": (test_annotations, test_images)}
  categories = sorted(_read_json(os.path.join(path, train_annotations)).get("categories", []),
                      key=lambda c: c["id"])
  classes = {c["id"]: k for k, c in enumerate(categories)}
  splits = {split: _split(os.path.join(path, annotations), os.path.join(path, images), classes, image_size,
                          max_objects)
            for split, (annotations, images) in names.items()
            if split != "test" or os.path.isfile(os.path.join(path, annotations))}
  mapping = json.dumps([{"class": k, "id": c["id"], "name": c.get("name", str(c["id"]))}
                        for k, c in enumerate(categories)])
  return Dataset(splits, num_classes=len(categories), artifacts={"categories.json": mapping})


def write(dataset: Dataset, directory: str, names: tuple[str, ...], category_ids: tuple[int, ...]) -> None:
  """A detection dataset's splits ({"image", "boxes", "labels", "box_mask"}) as a COCO tree at `directory`: PNGs
  under {split}/, annotations/instances_{split}.json, class k as category `category_ids[k]` named `names[k]`."""
  os.makedirs(os.path.join(directory, "annotations"), exist_ok=True)
  categories = [{"id": i, "name": n} for i, n in zip(category_ids, names, strict=True)]
  for split, source in dataset.splits.items():
    os.makedirs(os.path.join(directory, split), exist_ok=True)
    batch = source.read(np.arange(len(source)))
    images, annotations = [], []
    for n, pixels in enumerate(batch["image"]):
      file_name = f"{n:06d}.png"
      Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(os.path.join(directory, split, file_name))
      images.append({"id": n + 1, "file_name": file_name, "height": pixels.shape[0], "width": pixels.shape[1]})
      for box, label in zip(batch["boxes"][n][batch["box_mask"][n]], batch["labels"][n][batch["box_mask"][n]]):
        x1, y1, x2, y2 = (float(v) for v in box)
        annotations.append({"id": len(annotations) + 1, "image_id": n + 1, "category_id": category_ids[label],
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    with open(os.path.join(directory, "annotations", f"instances_{split}.json"), "w") as f:
      json.dump({"images": images, "annotations": annotations, "categories": categories}, f)
