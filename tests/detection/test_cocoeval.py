"""jaxdl.detection.cocoeval's twelve numbers equal pycocotools' COCOeval (a test dependency only) to 1e-6, on
generated cases with ties in score, images without ground truth, classes without detections, crowd boxes and
objects in every area range; and its command prints them as one JSON object."""

import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from jaxdl.detection import cocoeval
from tests.conftest import REPO


def generated_case(seed: int) -> tuple[dict, list[dict]]:
  rng = np.random.default_rng(seed)
  images = [{"id": i + 1, "width": 640, "height": 480} for i in range(8)]
  categories = [{"id": c, "name": f"c{c}"} for c in (1, 3, 7, 9)]  # 9 never detected
  annotations, detections = [], []
  for image in images[1:]:  # image 1 has no ground truth (its detections are all false positives)
    for _ in range(rng.integers(1, 7)):
      side = float(rng.choice([12, 24, 40, 70, 120, 200]) * rng.uniform(0.7, 1.3))  # small, medium, large
      box = [float(rng.uniform(0, 400)), float(rng.uniform(0, 300)), side, side * float(rng.uniform(0.5, 1.5))]
      annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "bbox": box,
                          "area": box[2] * box[3], "category_id": int(rng.choice([1, 3, 7, 9])),
                          "iscrowd": int(rng.uniform() < 0.1)})
  for image in images:
    truths = [a for a in annotations if a["image_id"] == image["id"]]
    for _ in range(rng.integers(0, 12)):
      if truths and rng.uniform() < 0.7:  # near a truth, jittered
        t = truths[rng.integers(len(truths))]
        box = [v + float(rng.normal(0, 0.15 * t["bbox"][2])) for v in t["bbox"][:2]] + \
              [max(1.0, v * float(rng.uniform(0.7, 1.3))) for v in t["bbox"][2:]]
        category = t["category_id"] if rng.uniform() < 0.85 else 3
      else:
        box = [float(rng.uniform(0, 500)), float(rng.uniform(0, 400)), float(rng.uniform(5, 150)),
               float(rng.uniform(5, 150))]
        category = int(rng.choice([1, 3, 7]))
      if category == 9:
        category = 7
      detections.append({"image_id": image["id"], "category_id": category, "bbox": box,
                         "score": round(float(rng.uniform()), 1)})  # rounded: many ties
  return {"images": images, "annotations": annotations, "categories": categories}, detections


def pycocotools_numbers(ground_truth: dict, detections: list[dict]) -> list[float]:
  with contextlib.redirect_stdout(io.StringIO()):
    truth = COCO()
    truth.dataset = json.loads(json.dumps(ground_truth))
    truth.createIndex()
    evaluation = COCOeval(truth, truth.loadRes(json.loads(json.dumps(detections))), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
  return list(evaluation.stats)


@pytest.mark.parametrize("seed", range(6))
def test_the_twelve_numbers_equal_pycocotools(seed):
  ground_truth, detections = generated_case(seed)
  assert any(a["iscrowd"] for a in ground_truth["annotations"]) or seed > 0
  ours = cocoeval.evaluate(ground_truth, detections)
  np.testing.assert_allclose([ours[k] for k in cocoeval.KEYS], pycocotools_numbers(ground_truth, detections),
                             atol=1e-6)
  assert 0 < ours["AP50"] <= 1 and ours["AP"] <= ours["AP50"]


def test_the_command_prints_one_json_object(tmp_path):
  ground_truth, detections = generated_case(0)
  (tmp_path / "gt.json").write_text(json.dumps(ground_truth))
  (tmp_path / "dt.json").write_text(json.dumps(detections))
  proc = subprocess.run([sys.executable, "-m", "jaxdl.detection.cocoeval", f"--gt={tmp_path / 'gt.json'}",
                         f"--detections={tmp_path / 'dt.json'}"], cwd=REPO, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr
  printed = json.loads(proc.stdout)
  assert list(printed) == list(cocoeval.KEYS)
  assert printed == pytest.approx(cocoeval.evaluate(ground_truth, detections))
