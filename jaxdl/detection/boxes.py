"""Box arithmetic on (x1, y1, x2, y2) corners: areas, pairwise IoU and GIoU, and the box coder that turns a box into
regression targets relative to an anchor (Girshick et al., 2014) and back."""

import dataclasses
import math

import jax.numpy as jnp


def area(boxes: jnp.ndarray) -> jnp.ndarray:
  """(..., 4) -> (...); a box with x2 < x1 or y2 < y1 has area 0."""
  return jnp.maximum(boxes[..., 2] - boxes[..., 0], 0) * jnp.maximum(boxes[..., 3] - boxes[..., 1], 0)


def _intersection_and_union(a: jnp.ndarray, b: jnp.ndarray):
  top_left = jnp.maximum(a[:, None, :2], b[None, :, :2])
  bottom_right = jnp.minimum(a[:, None, 2:], b[None, :, 2:])
  inter = jnp.prod(jnp.maximum(bottom_right - top_left, 0), axis=-1)
  return inter, area(a)[:, None] + area(b)[None, :] - inter


def pairwise_iou(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """(N, 4), (M, 4) -> (N, M) intersection over union; 0 where the union is empty."""
  inter, union = _intersection_and_union(a, b)
  return jnp.where(union > 0, inter / jnp.where(union > 0, union, 1), 0.0)


def pairwise_giou(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """(N, 4), (M, 4) -> (N, M) generalized IoU (Rezatofighi et al., 2019): IoU - (|C| - |A u B|) / |C|, C the
  smallest box enclosing both; in [-1, 1], and not flat where the boxes do not overlap."""
  inter, union = _intersection_and_union(a, b)
  iou = jnp.where(union > 0, inter / jnp.where(union > 0, union, 1), 0.0)
  enclosing = area(jnp.concatenate([jnp.minimum(a[:, None, :2], b[None, :, :2]),
                                    jnp.maximum(a[:, None, 2:], b[None, :, 2:])], axis=-1))
  return iou - jnp.where(enclosing > 0, (enclosing - union) / jnp.where(enclosing > 0, enclosing, 1), 0.0)


def _centers(boxes: jnp.ndarray):
  widths, heights = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
  return boxes[..., 0] + 0.5 * widths, boxes[..., 1] + 0.5 * heights, widths, heights


@dataclasses.dataclass(frozen=True)
class BoxCoder:
  """Regression targets of a box g against an anchor a: (wx (gx - ax) / aw, wy (gy - ay) / ah, ww log(gw / aw),
  wh log(gh / ah)) on centres and sizes; `decode` inverts `encode`. Faster R-CNN's RoI head uses weights
  (10, 10, 5, 5), its RPN (1, 1, 1, 1). Decoded log-sizes are clipped at log(1000 / 16), as torchvision does, so
  that an untrained head cannot overflow exp."""

  weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
  clip: float = math.log(1000.0 / 16)

  def encode(self, boxes: jnp.ndarray, anchors: jnp.ndarray) -> jnp.ndarray:
    gx, gy, gw, gh = _centers(boxes)
    ax, ay, aw, ah = _centers(anchors)
    wx, wy, ww, wh = self.weights
    return jnp.stack([wx * (gx - ax) / aw, wy * (gy - ay) / ah, ww * jnp.log(gw / aw), wh * jnp.log(gh / ah)], -1)

  def decode(self, deltas: jnp.ndarray, anchors: jnp.ndarray) -> jnp.ndarray:
    ax, ay, aw, ah = _centers(anchors)
    wx, wy, ww, wh = self.weights
    cx, cy = ax + deltas[..., 0] / wx * aw, ay + deltas[..., 1] / wy * ah
    w = aw * jnp.exp(jnp.minimum(deltas[..., 2] / ww, self.clip))
    h = ah * jnp.exp(jnp.minimum(deltas[..., 3] / wh, self.clip))
    return jnp.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], -1)
