"""Non-maximum suppression with a fixed output size, so that it runs inside jit: hard NMS (optionally per class,
by shifting each class's boxes apart) and soft-NMS (Bodla et al., 2017), linear or Gaussian. Both cost an N x N
IoU matrix and a loop over the N boxes in score order."""

import jax
import jax.numpy as jnp

from jaxdl.detection.boxes import pairwise_iou


def nms(boxes: jnp.ndarray, scores: jnp.ndarray, iou_threshold: float, max_output: int, classes=None,
        valid=None) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(indices (max_output,), kept (max_output,) bool) of the boxes (N, 4) kept, highest score first: a box is
  dropped when it overlaps a kept, higher-scoring one by IoU > `iou_threshold` (of its own class, with `classes`
  (N,) ints). `valid` (N,) bool leaves padding out. Ties in score keep the lower index first. Batched by vmap."""
  n = boxes.shape[0]
  if classes is not None:  # boxes of different classes never overlap once each class sits in its own region
    offset = jnp.max(jnp.abs(boxes)) + 1
    boxes = boxes + (classes.astype(boxes.dtype) * 2 * offset)[:, None]
  valid = jnp.ones((n,), bool) if valid is None else valid
  order = jnp.lexsort((jnp.arange(n), -jnp.where(valid, scores, -jnp.inf)))  # by score, then index
  iou = pairwise_iou(boxes[order], boxes[order])
  alive = valid[order]

  def visit(i, alive):
    suppress = (iou[i] > iou_threshold) & (jnp.arange(n) > i) & alive[i]
    return alive & ~suppress

  alive = jax.lax.fori_loop(0, n, visit, alive)
  ranked = jnp.argsort(~alive, stable=True)[:max_output]  # the kept ones, in score order, then the rest
  indices = order[ranked] if n >= max_output else jnp.pad(order[ranked], (0, max_output - n))
  kept = alive[ranked] if n >= max_output else jnp.pad(alive[ranked], (0, max_output - n))
  return indices, kept


def soft_nms(boxes: jnp.ndarray, scores: jnp.ndarray, method: str = "gaussian", sigma: float = 0.5,
             iou_threshold: float = 0.3) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(order (N,), scores (N,)): boxes picked one at a time by their current score, each pick lowering the others'
  scores by its overlap: `linear` multiplies by 1 - IoU where IoU > `iou_threshold`, `gaussian` by
  exp(-IoU^2 / sigma). The scores returned are each box's when it was picked (threshold them to keep boxes)."""
  if method not in ("linear", "gaussian"):
    raise ValueError(f"soft_nms method {method!r}: linear or gaussian")
  iou = pairwise_iou(boxes, boxes)
  n = boxes.shape[0]

  def pick(i, carry):
    current, taken, order, final = carry
    best = jnp.argmax(jnp.where(taken, -jnp.inf, current))
    overlap = iou[best]
    decay = jnp.where(overlap > iou_threshold, 1 - overlap, 1.0) if method == "linear" else \
        jnp.exp(-overlap ** 2 / sigma)
    final = final.at[i].set(current[best])
    current = jnp.where(taken | (jnp.arange(n) == best), current, current * decay)
    return current, taken.at[best].set(True), order.at[i].set(best), final

  init = (scores.astype(jnp.float32), jnp.zeros((n,), bool), jnp.zeros((n,), jnp.int32), jnp.zeros((n,)))
  _, _, order, final = jax.lax.fori_loop(0, n, pick, init)
  return order, final
