"""Average precision of one class's detections (the VOC and COCO way): detections ranked by confidence (the notes
rank them by IoU score, which is an error: the IoU only decides whether a ranked detection matches), each matched
greedily to the unmatched ground truth it overlaps most at IoU >= the threshold, then the area under the
precision-recall curve, interpolated as VOC 2007 (11 points), VOC 2010+ (every point) or COCO (101 points)."""

import numpy as np

from jaxdl.detection.boxes import pairwise_iou

INTERPOLATIONS = ("all", "voc11", "coco101")


def match(boxes: np.ndarray, scores: np.ndarray, truths: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
  """(D,) bool, in descending score order (ties: the earlier detection first): whether each detection matched a
  ground truth (boxes (D, 4), truths (G, 4) as x1, y1, x2, y2) that no better detection had taken."""
  order = np.argsort(-np.asarray(scores), kind="mergesort")
  ious = np.asarray(pairwise_iou(np.asarray(boxes, np.float32)[order].reshape(-1, 4),
                                 np.asarray(truths, np.float32).reshape(-1, 4)))
  taken = np.zeros(len(truths), bool)
  matched = np.zeros(len(order), bool)
  for d in range(len(order)):
    candidates = np.where(taken, -1.0, ious[d])
    if candidates.size and candidates.max() >= iou_threshold:
      taken[candidates.argmax()], matched[d] = True, True
  return matched


def average_precision(matched: np.ndarray, num_truths: int, interpolation: str = "all") -> float:
  """AP of detections already ranked by score (`matched` (D,) in that order) against `num_truths` objects."""
  if interpolation not in INTERPOLATIONS:
    raise ValueError(f"interpolation {interpolation!r}: one of {', '.join(INTERPOLATIONS)}")
  if num_truths == 0:
    return float("nan")
  tp = np.cumsum(matched)
  recall = tp / num_truths
  precision = tp / np.arange(1, len(matched) + 1)
  envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
  if interpolation == "all":  # the area under the envelope, a step at every recall the curve reaches
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))
  # The recall points as the VOC devkit and pycocotools write them (their float roundings decide the ties)
  points = np.arange(0.0, 1.1, 0.1) if interpolation == "voc11" else np.linspace(0.0, 1.0, 101)
  at = np.searchsorted(recall, points, side="left")
  return float(np.mean(np.where(at < len(envelope), envelope[np.minimum(at, len(envelope) - 1)], 0.0)))
