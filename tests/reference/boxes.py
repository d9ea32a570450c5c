"""Detection's box arithmetic in plain NumPy loops, from the papers and torchvision's kernels: IoU and GIoU,
the box coder, smooth L1, greedy NMS and soft-NMS, anchors, RoI pooling and RoI Align."""

import math

import numpy as np


def iou(a, b):
  ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
  iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
  inter = ix * iy
  union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
  return inter / union if union > 0 else 0.0


def giou(a, b):
  ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
  iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
  union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
  hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
  return iou(a, b) - (hull - union) / hull


def encode(box, anchor, weights=(1, 1, 1, 1)):
  aw, ah = anchor[2] - anchor[0], anchor[3] - anchor[1]
  ax, ay = anchor[0] + aw / 2, anchor[1] + ah / 2
  gw, gh = box[2] - box[0], box[3] - box[1]
  gx, gy = box[0] + gw / 2, box[1] + gh / 2
  return [weights[0] * (gx - ax) / aw, weights[1] * (gy - ay) / ah, weights[2] * math.log(gw / aw),
          weights[3] * math.log(gh / ah)]


def smooth_l1(x):
  return 0.5 * x * x if abs(x) < 1 else abs(x) - 0.5


def nms(boxes, scores, threshold):
  """Greedy: take the best remaining box, drop every remaining box that overlaps it by more than `threshold`."""
  order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
  kept = []
  while order:
    best = order.pop(0)
    kept.append(best)
    order = [i for i in order if iou(boxes[best], boxes[i]) <= threshold]
  return kept


def soft_nms(boxes, scores, method, sigma=0.5, threshold=0.3):
  scores = list(map(float, scores))
  left, picked = list(range(len(boxes))), []
  while left:
    best = max(left, key=lambda i: (scores[i], -i))
    picked.append((best, scores[best]))
    left.remove(best)
    for i in left:
      overlap = iou(boxes[best], boxes[i])
      if method == "linear":
        scores[i] *= (1 - overlap) if overlap > threshold else 1.0
      else:
        scores[i] *= math.exp(-overlap ** 2 / sigma)
  return picked


def anchors(feature_sizes, strides, scales, ratios):
  out = []
  for (height, width), stride, level_scales in zip(feature_sizes, strides, scales):
    for y in range(height):
      for x in range(width):
        cx, cy = (x + 0.5) * stride, (y + 0.5) * stride
        for ratio in ratios:
          for scale in level_scales:
            h, w = scale * math.sqrt(ratio), scale / math.sqrt(ratio)
            out.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
  return np.asarray(out)


def _c_round(x):
  return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def roi_pool(features, roi, output_size, scale):
  """torchvision's roi_pool kernel for one RoI on an (H, W, C) map."""
  height, width, channels = features.shape
  ph_bins, pw_bins = output_size
  x1, y1, x2, y2 = (_c_round(v * scale) for v in roi)
  roi_h, roi_w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
  out = np.zeros((ph_bins, pw_bins, channels))
  for ph in range(ph_bins):
    for pw in range(pw_bins):
      hs = min(max(math.floor(ph * roi_h / ph_bins) + y1, 0), height)
      he = min(max(math.ceil((ph + 1) * roi_h / ph_bins) + y1, 0), height)
      ws = min(max(math.floor(pw * roi_w / pw_bins) + x1, 0), width)
      we = min(max(math.ceil((pw + 1) * roi_w / pw_bins) + x1, 0), width)
      if he > hs and we > ws:
        out[ph, pw] = features[hs:he, ws:we].max(axis=(0, 1))
  return out


def _bilinear(features, y, x):
  height, width, _ = features.shape
  if y < -1.0 or y > height or x < -1.0 or x > width:
    return np.zeros(features.shape[-1])
  y, x = max(y, 0.0), max(x, 0.0)
  y_low, x_low = int(y), int(x)
  if y_low >= height - 1:
    y_low = y_high = height - 1
    y = float(y_low)
  else:
    y_high = y_low + 1
  if x_low >= width - 1:
    x_low = x_high = width - 1
    x = float(x_low)
  else:
    x_high = x_low + 1
  ly, lx = y - y_low, x - x_low
  return ((1 - ly) * (1 - lx) * features[y_low, x_low] + (1 - ly) * lx * features[y_low, x_high]
          + ly * (1 - lx) * features[y_high, x_low] + ly * lx * features[y_high, x_high])


def roi_align(features, roi, output_size, scale, sampling_ratio, aligned):
  """torchvision's roi_align kernel for one RoI (a fixed sampling ratio)."""
  offset = 0.5 if aligned else 0.0
  x1, y1, x2, y2 = (v * scale - offset for v in roi)
  roi_w, roi_h = x2 - x1, y2 - y1
  if not aligned:
    roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
  ph_bins, pw_bins = output_size
  bin_h, bin_w = roi_h / ph_bins, roi_w / pw_bins
  out = np.zeros((ph_bins, pw_bins, features.shape[-1]))
  for ph in range(ph_bins):
    for pw in range(pw_bins):
      total = 0.0
      for iy in range(sampling_ratio):
        y = y1 + ph * bin_h + (iy + 0.5) * bin_h / sampling_ratio
        for ix in range(sampling_ratio):
          x = x1 + pw * bin_w + (ix + 0.5) * bin_w / sampling_ratio
          total = total + _bilinear(features, y, x)
      out[ph, pw] = total / (sampling_ratio * sampling_ratio)
  return out


def average_precision(matched, num_truths, interpolation):
  """The VOC devkit's AP, written out: precision made monotone from the right, then 11-point, all-point or
  101-point interpolation."""
  tp = fp = 0
  recall, precision = [], []
  for m in matched:
    tp, fp = tp + int(m), fp + int(not m)
    recall.append(tp / num_truths)
    precision.append(tp / (tp + fp))
  if interpolation == "all":
    mrec, mpre = [0.0] + recall + [1.0], [0.0] + precision + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
      mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i + 1] - mrec[i]) * mpre[i + 1] for i in range(len(mrec) - 1) if mrec[i + 1] != mrec[i])
  points = np.arange(0.0, 1.1, 0.1) if interpolation == "voc11" else np.linspace(0.0, 1.0, 101)  # the devkit's, COCO's
  return sum(max([p for r, p in zip(recall, precision) if r >= t], default=0.0) for t in points) / len(points)
