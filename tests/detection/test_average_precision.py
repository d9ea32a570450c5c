"""One class's AP (jaxdl.detection.average_precision) against the VOC devkit's loops, and against COCO's AP50."""

import numpy as np
import pytest

from jaxdl.detection import average_precision as ap
from jaxdl.detection import cocoeval
from tests.reference import boxes as ref


@pytest.mark.parametrize("interpolation", ap.INTERPOLATIONS)
def test_interpolations_equal_the_devkit_loops(interpolation):
  rng = np.random.default_rng(0)
  for _ in range(20):
    matched = rng.uniform(size=rng.integers(1, 40)) < 0.5
    truths = int(matched.sum() + rng.integers(0, 5)) or 1
    assert ap.average_precision(matched, truths, interpolation) == pytest.approx(
        ref.average_precision(matched, truths, interpolation), abs=1e-9)
  assert ap.average_precision(np.ones(3, bool), 3, interpolation) == pytest.approx(1.0)  # all found, no miss


def test_greedy_matching_takes_each_object_once_best_detection_first():
  truths = np.float32([[0, 0, 10, 10], [20, 20, 30, 30]])
  boxes = np.float32([[1, 1, 10, 10], [0, 0, 10, 10], [20, 21, 30, 30], [50, 50, 60, 60]])
  scores = np.float32([0.9, 0.8, 0.7, 0.95])
  # by score: the far box (miss), the near copy (hit), the exact copy (its object is taken: miss), the second (hit)
  assert ap.match(boxes, scores, truths, 0.5).tolist() == [False, True, False, True]


def test_coco_101_points_at_iou_half_is_cocos_ap50_for_one_class():
  rng = np.random.default_rng(1)
  truths = np.concatenate([rng.uniform(0, 300, (15, 2)), rng.uniform(20, 80, (15, 2))], axis=1)  # x, y, w, h
  found = np.concatenate([truths[:12, :2] + rng.normal(0, 6, (12, 2)),
                          truths[:12, 2:] * rng.uniform(0.8, 1.2, (12, 2))], axis=1)
  found = np.concatenate([found, np.concatenate([rng.uniform(0, 300, (8, 2)), rng.uniform(20, 80, (8, 2))], 1)])
  scores = rng.uniform(size=len(found))
  corners = lambda b: np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)  # noqa: E731
  ours = ap.average_precision(ap.match(corners(found), scores, corners(truths), 0.5), len(truths), "coco101")
  ground_truth = {"images": [{"id": 1}], "categories": [{"id": 1}],
                  "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b.tolist(), "iscrowd": 0}
                                  for i, b in enumerate(truths)]}
  detections = [{"image_id": 1, "category_id": 1, "bbox": b.tolist(), "score": float(s)}
                for b, s in zip(found, scores)]
  assert ours == pytest.approx(cocoeval.evaluate(ground_truth, detections)["AP50"], abs=1e-6)
  assert 0.3 < ours < 1.0
