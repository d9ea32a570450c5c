"""Anchors: for every position of every feature level, one box per (scale, aspect ratio), centred on the position's
pixel in the image (Ren et al., 2015). Levels are listed coarse-to-fine as the backbone gives them; the anchors of
a level are ordered by row, column, then (ratio, scale), which is how a head's (H, W, A * k) outputs flatten."""

import numpy as np


def base_anchors(scales: tuple[float, ...], ratios: tuple[float, ...]) -> np.ndarray:
  """(len(ratios) * len(scales), 4) boxes centred on 0: side `scale` at ratio 1, height / width = `ratio` at the
  same area."""
  out = []
  for ratio in ratios:
    for scale in scales:
      h, w = scale * np.sqrt(ratio), scale / np.sqrt(ratio)
      out.append([-w / 2, -h / 2, w / 2, h / 2])
  return np.asarray(out, np.float32)


def grid_anchors(feature_sizes: list[tuple[int, int]], strides: list[int], scales: list[tuple[float, ...]],
                 ratios: tuple[float, ...]) -> np.ndarray:
  """(sum over levels of H * W * A, 4): level l's base anchors (its `scales[l]`) at the centres
  ((x + 0.5) stride, (y + 0.5) stride) of its H x W positions. Static shapes: computed once, in NumPy."""
  levels = []
  for (height, width), stride, level_scales in zip(feature_sizes, strides, scales, strict=True):
    ys, xs = np.meshgrid((np.arange(height) + 0.5) * stride, (np.arange(width) + 0.5) * stride, indexing="ij")
    centres = np.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4)
    levels.append((centres + base_anchors(level_scales, ratios)[None]).reshape(-1, 4))
  return np.concatenate(levels).astype(np.float32)
