"""`--data=coco:DIR`: the shapes generator's splits written as a COCO tree read back as they were (sparse category
ids mapped to classes and back), images of another size resized with their boxes, and each bad file or annotation
one line naming it."""

import json
import os

import numpy as np
import pytest

from jaxdl import data
from jaxdl.data import coco
from jaxdl.data.shapes import CLASSES
from jaxdl.errors import UsageError

IDS = (5, 10, 15, 20)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
  shapes = data.load("shapes", "train_size=12,val_size=4,test_size=4,image_size=48", seed=0)
  directory = str(tmp_path_factory.mktemp("coco"))
  coco.write(shapes, directory, CLASSES, IDS)
  return shapes, directory


def test_a_written_tree_reads_back_as_the_shapes_were(tree):
  shapes, directory = tree
  loaded = data.load(f"coco:{directory}", "image_size=48,max_objects=6")
  assert loaded.num_classes == 4 and set(loaded.splits) == {"train", "val", "test"}
  mapping = json.loads(loaded.artifacts["categories.json"])
  assert [(m["class"], m["id"], m["name"]) for m in mapping] == list(zip(range(4), IDS, CLASSES))
  for split in ("train", "val", "test"):
    want, got = (s.splits[split].read(np.arange(len(s.splits[split]))) for s in (shapes, loaded))
    np.testing.assert_allclose(got["image"], want["image"], atol=0.5 / 255 + 1e-6)  # 8-bit PNGs
    for key in ("labels", "box_mask"):
      np.testing.assert_array_equal(got[key], want[key])
    np.testing.assert_allclose(got["boxes"], want["boxes"], atol=1e-4)
    assert not got["crowd"].any()


def test_other_image_sizes_are_resized_with_their_boxes(tree):
  _, directory = tree
  small = data.load(f"coco:{directory}", "image_size=24,max_objects=6").splits["val"].read(np.arange(4))
  full = data.load(f"coco:{directory}", "image_size=48,max_objects=6").splits["val"].read(np.arange(4))
  assert small["image"].shape == (4, 24, 24, 3)
  np.testing.assert_allclose(small["boxes"], full["boxes"] / 2, atol=1e-4)


def test_bad_trees_are_one_line_naming_what_is_wrong(tree, tmp_path):
  _, directory = tree
  original = json.load(open(os.path.join(directory, "annotations", "instances_val.json")))

  def broken(edit, name):
    root = tmp_path / name
    os.makedirs(root / "annotations")
    for split in ("train", "val"):
      os.symlink(os.path.join(directory, split), root / split)
    os.symlink(os.path.join(directory, "annotations", "instances_train.json"),
               root / "annotations" / "instances_train.json")
    val = json.loads(json.dumps(original))
    edit(val)
    (root / "annotations" / "instances_val.json").write_text(json.dumps(val))
    with pytest.raises(UsageError) as error:
      data.load(f"coco:{root}", "image_size=48,max_objects=6")
    assert "\n" not in str(error.value)
    return str(error.value)

  assert "bbox [1, 2, -3, 4] is not [x, y, w, h]" in broken(
      lambda v: v["annotations"][0].update(bbox=[1, 2, -3, 4]), "negative")
  assert "names an image or category the file does not list" in broken(
      lambda v: v["annotations"][0].update(category_id=99), "category")
  assert "nowhere.png, which does not exist" in broken(lambda v: v["images"][0].update(file_name="nowhere.png"),
                                                       "missing")
  assert "more than max_objects=6 objects" in broken(
      lambda v: v["annotations"].extend([dict(v["annotations"][0], id=1000 + i) for i in range(6)]), "crowded")
  with pytest.raises(UsageError, match="no annotations file"):
    data.load(f"coco:{tmp_path}", "")
  (tmp_path / "bad.png").write_bytes(b"not a png")
  with pytest.raises(UsageError, match="cannot read the image"):
    coco.CocoSource((str(tmp_path / "bad.png"),), {}, 8).read(np.arange(1))
