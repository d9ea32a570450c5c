"""Pooling a feature map (H, W, C) over regions of interest (R, 4) (image coordinates; `spatial_scale` = 1 /
the map's stride) into fixed (PH, PW, C) grids.

RoI pooling (Girshick, 2015) quantizes twice, as the notes describe: the RoI's corners are rounded to the feature
grid, and each bin's borders to whole cells (floor of its start, ceiling of its end), then takes each bin's max.
RoI Align (He et al., 2017) does neither: it averages `sampling_ratio`^2 bilinear samples per bin, with
`aligned=True` shifting by half a cell so that a pixel's centre maps to the right place. Both follow torchvision's
kernels (an empty bin pools 0; a sample more than a cell outside the map reads 0). RoI Align is written as two
small matrix products per RoI: bilinear weights separate into a row part and a column part."""

import jax
import jax.numpy as jnp


def _c_round(x):
  return jnp.sign(x) * jnp.floor(jnp.abs(x) + 0.5)  # C's round(): halves away from zero


def roi_pool(features: jnp.ndarray, rois: jnp.ndarray, output_size: tuple[int, int],
             spatial_scale: float) -> jnp.ndarray:
  """(R, PH, PW, C): each bin's max over the cells its quantized borders cover."""
  height, width = features.shape[:2]
  ph, pw = output_size

  def borders(start, end, bins, size):
    length = jnp.maximum(end - start + 1, 1)
    edge = jnp.arange(bins) * length / bins
    low = jnp.clip(jnp.floor(edge) + start, 0, size)
    high = jnp.clip(jnp.ceil(edge + length / bins) + start, 0, size)
    cells = jnp.arange(size)
    return (cells[None] >= low[:, None]) & (cells[None] < high[:, None])  # (bins, size)

  def one(roi):
    x1, y1, x2, y2 = _c_round(roi * spatial_scale)
    rows, cols = borders(y1, y2, ph, height), borders(x1, x2, pw, width)
    by_col = jnp.max(jnp.where(cols[:, None, :, None], features[None], -jnp.inf), axis=2)  # (PW, H, C)
    pooled = jnp.max(jnp.where(rows[:, None, :, None], by_col[None], -jnp.inf), axis=2)  # (PH, PW, C)
    return jnp.where(jnp.isneginf(pooled), 0.0, pooled)

  return jax.lax.map(one, rois)


def _bilinear_weights(coords: jnp.ndarray, size: int) -> jnp.ndarray:
  """(..., size): the weight each cell gets when `coords` are sampled bilinearly along one axis."""
  inside = (coords >= -1.0) & (coords <= size)
  coords = jnp.maximum(coords, 0.0)
  low = jnp.floor(coords).astype(jnp.int32)
  at_edge = low >= size - 1
  low = jnp.where(at_edge, size - 1, low)
  high = jnp.where(at_edge, size - 1, low + 1)
  frac = jnp.where(at_edge, 0.0, coords - low)
  weights = jax.nn.one_hot(low, size) * (1 - frac)[..., None] + jax.nn.one_hot(high, size) * frac[..., None]
  return weights * inside[..., None]


def roi_align(features: jnp.ndarray, rois: jnp.ndarray, output_size: tuple[int, int], spatial_scale: float,
              sampling_ratio: int = 2, aligned: bool = True) -> jnp.ndarray:
  """(R, PH, PW, C): each bin the mean of `sampling_ratio` x `sampling_ratio` bilinear samples."""
  height, width = features.shape[:2]
  ph, pw = output_size
  offset = 0.5 if aligned else 0.0
  start = rois[:, :2] * spatial_scale - offset
  size = rois[:, 2:] * spatial_scale - offset - start
  if not aligned:
    size = jnp.maximum(size, 1.0)
  steps = (jnp.arange(sampling_ratio) + 0.5) / sampling_ratio

  def axis_weights(start, length, bins, cells):  # (R, bins, cells): the mean sample weight of each bin
    points = start[:, None, None] + (jnp.arange(bins)[None, :, None] + steps[None, None]) * (length / bins)[:, None,
                                                                                                            None]
    return _bilinear_weights(points, cells).mean(axis=2)

  rows = axis_weights(start[:, 1], size[:, 1], ph, height)
  cols = axis_weights(start[:, 0], size[:, 0], pw, width)
  return jnp.einsum("rph,hwc,rqw->rpqc", rows, features, cols, precision=jax.lax.Precision.HIGHEST)
