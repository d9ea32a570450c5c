"""COCO's twelve box-detection numbers, computed as pycocotools' `COCOeval` computes them (and tested equal to it):
AP averaged over IoU thresholds .50:.05:.95 with 101-point interpolated precision, AP50, AP75, AP for small,
medium and large objects, and AR at 1, 10 and 100 detections per image and per area range.

Detections are ranked by their confidence. (The notes rank them by IoU score: that is an error; the IoU only
decides whether a ranked detection matches.) At each threshold every detection, best first, takes the unmatched
ground truth it overlaps most (at least the threshold); crowd boxes (`iscrowd`) may match many detections, are
measured by intersection over the detection's area, and, like boxes outside the area range, neither count as
misses nor make their detections false positives.

    python -m jaxdl.detection.cocoeval --gt=GT.json --detections=DT.json

prints them as one JSON object: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.
"""

import collections
import json
import sys

import numpy as np

KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = (1, 10, 100)
AREAS = ((0, 1e10), (0, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e10))  # all, small, medium, large


def box_ious(detections: np.ndarray, truths: np.ndarray, crowd: np.ndarray) -> np.ndarray:
  """(D, G) IoU of [x, y, w, h] boxes; against a crowd box, intersection over the detection's area."""
  d, g = detections[:, None], truths[None]
  iw = np.maximum(np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0]), 0)
  ih = np.maximum(np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1]), 0)
  inter = iw * ih
  d_area, g_area = d[..., 2] * d[..., 3], g[..., 2] * g[..., 3]
  union = np.where(crowd[None], d_area, d_area + g_area - inter)
  return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _match(truths: list[dict], found: list[dict], area: tuple[float, float], max_det: int):
  """One image, class and area range: (scores (D,), matched (T, D), detection ignored (T, D), truth ignored
  (G,)), as COCOeval's evaluateImg."""
  ignore = np.array([g.get("iscrowd", 0) or not area[0] <= g["area"] <= area[1] for g in truths], bool)
  truths = [truths[i] for i in np.argsort(ignore, kind="mergesort")]
  ignore = np.sort(ignore, kind="mergesort")
  found = [found[i] for i in np.argsort([-d["score"] for d in found], kind="mergesort")[:max_det]]
  crowd = np.array([g.get("iscrowd", 0) for g in truths], bool)
  ious = box_ious(np.array([d["bbox"] for d in found], float).reshape(-1, 4),
                  np.array([g["bbox"] for g in truths], float).reshape(-1, 4), crowd)
  matched = np.zeros((len(IOU_THRESHOLDS), len(found)), bool)
  found_ignored = np.zeros_like(matched)
  for t, threshold in enumerate(IOU_THRESHOLDS):
    taken = np.zeros(len(truths), bool)
    for d in range(len(found)):
      best, best_iou = -1, min(threshold, 1 - 1e-10)
      for g in range(len(truths)):
        if taken[g] and not crowd[g]:
          continue
        if best > -1 and not ignore[best] and ignore[g]:
          break  # the truths that count come first: a match among them beats an ignored one
        if ious[d, g] < best_iou:
          continue
        best, best_iou = g, ious[d, g]
      if best > -1:
        matched[t, d], found_ignored[t, d], taken[best] = True, ignore[best], True
  outside = np.array([not area[0] <= d["bbox"][2] * d["bbox"][3] <= area[1] for d in found], bool)
  found_ignored |= ~matched & outside[None]
  return np.array([d["score"] for d in found]), matched, found_ignored, ignore


def _precision_and_recall(images: list, max_det: int) -> tuple[np.ndarray, np.ndarray]:
  """(precision (T, 101), recall (T,)) over a class's images, or -1s where it has no truth that counts."""
  images = [e for e in images if e is not None]
  scores = np.concatenate([e[0][:max_det] for e in images])
  order = np.argsort(-scores, kind="mergesort")
  matched = np.concatenate([e[1][:, :max_det] for e in images], axis=1)[:, order]
  ignored = np.concatenate([e[2][:, :max_det] for e in images], axis=1)[:, order]
  positives = sum(int(np.count_nonzero(~e[3])) for e in images)
  if positives == 0:
    return -np.ones((len(IOU_THRESHOLDS), len(RECALL_POINTS))), -np.ones(len(IOU_THRESHOLDS))
  tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
  fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
  precision, recall = np.zeros((len(IOU_THRESHOLDS), len(RECALL_POINTS))), np.zeros(len(IOU_THRESHOLDS))
  for t in range(len(IOU_THRESHOLDS)):
    rc = tp[t] / positives
    pr = tp[t] / (tp[t] + fp[t] + np.spacing(1))
    recall[t] = rc[-1] if len(rc) else 0
    pr = np.maximum.accumulate(pr[::-1])[::-1]  # the precision envelope: best precision at any higher recall
    at = np.searchsorted(rc, RECALL_POINTS, side="left")
    precision[t] = np.where(at < len(pr), pr[np.minimum(at, len(pr) - 1)] if len(pr) else 0, 0)
  return precision, recall


def evaluate(ground_truth: dict, detections: list[dict]) -> dict[str, float]:
  """The twelve numbers of `detections` ([{image_id, category_id, bbox [x, y, w, h], score}]) against a COCO
  ground-truth dict (images, annotations with area and iscrowd, categories); -1 where nothing counts."""
  images = sorted(image["id"] for image in ground_truth["images"])
  classes = sorted(c["id"] for c in ground_truth["categories"])
  truths, found = collections.defaultdict(list), collections.defaultdict(list)
  for g in ground_truth["annotations"]:
    truths[g["image_id"], g["category_id"]].append({"area": g["bbox"][2] * g["bbox"][3], **g})
  for d in detections:
    found[d["image_id"], d["category_id"]].append(d)
  shape = (len(IOU_THRESHOLDS), len(RECALL_POINTS), len(classes), len(AREAS), len(MAX_DETECTIONS))
  precision, recall = -np.ones(shape), -np.ones((len(IOU_THRESHOLDS), len(classes), len(AREAS), len(MAX_DETECTIONS)))
  for k, c in enumerate(classes):
    for a, area in enumerate(AREAS):
      per_image = [_match(truths[i, c], found[i, c], area, MAX_DETECTIONS[-1])
                   if truths[i, c] or found[i, c] else None for i in images]
      for m, max_det in enumerate(MAX_DETECTIONS):
        if any(e is not None for e in per_image):
          precision[:, :, k, a, m], recall[:, k, a, m] = _precision_and_recall(per_image, max_det)

  def mean(values):
    values = values[values > -1]
    return float(np.mean(values)) if values.size else -1.0

  ap = [mean(precision[..., 0, 2]), mean(precision[0, ..., 0, 2]), mean(precision[5, ..., 0, 2]),
        *(mean(precision[..., a, 2]) for a in (1, 2, 3))]
  ar = [*(mean(recall[..., 0, m]) for m in range(3)), *(mean(recall[..., a, 2]) for a in (1, 2, 3))]
  return dict(zip(KEYS, ap + ar))


def main(argv: list[str]) -> None:
  paths = dict(arg[2:].split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)
  if set(paths) != {"gt", "detections"}:
    sys.exit("usage: python -m jaxdl.detection.cocoeval --gt=GT.json --detections=DT.json")
  with open(paths["gt"]) as f, open(paths["detections"]) as g:
    print(json.dumps(evaluate(json.load(f), json.load(g))))


if __name__ == "__main__":
  main(sys.argv[1:])
