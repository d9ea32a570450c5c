"""Detection's box arithmetic (jaxdl.detection) against plain NumPy loops (tests/reference/boxes.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import losses
from jaxdl.detection import anchors, boxes, nms, roi
from tests.reference import boxes as ref


def random_boxes(rng, n, size=64.0):
  corners = rng.uniform(0, size, (n, 2, 2))
  low, high = corners.min(axis=1), corners.max(axis=1) + 1.0  # no empty box
  return np.concatenate([low, high], axis=1).astype(np.float32)


def test_iou_and_giou_equal_the_loops_and_giou_is_not_flat_apart():
  rng = np.random.default_rng(0)
  a, b = random_boxes(rng, 12), random_boxes(rng, 9)
  b[0] = a[0]  # identical: 1
  b[1] = a[1] + np.float32([100, 100, 100, 100])  # far apart: IoU 0, GIoU < 0
  np.testing.assert_allclose(boxes.pairwise_iou(a, b), [[ref.iou(x, y) for y in b] for x in a], atol=1e-6)
  giou = np.asarray(boxes.pairwise_giou(a, b))
  np.testing.assert_allclose(giou, [[ref.giou(x, y) for y in b] for x in a], atol=1e-6)
  assert boxes.pairwise_iou(a, b)[0, 0] == pytest.approx(1.0) and giou[1, 1] < -0.5
  assert np.all(giou >= -1) and np.all(giou <= 1 + 1e-6)


def test_the_coder_encodes_as_the_formula_and_decode_inverts_it():
  rng = np.random.default_rng(1)
  targets, priors = random_boxes(rng, 20), random_boxes(rng, 20)
  coder = boxes.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
  deltas = coder.encode(targets, priors)
  np.testing.assert_allclose(deltas, [ref.encode(t, p, coder.weights) for t, p in zip(targets, priors)], rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(coder.decode(deltas, priors), targets, atol=1e-4)
  huge = coder.decode(jnp.full((1, 4), 1e4), priors[:1])  # clipped log-sizes: finite
  assert np.all(np.isfinite(huge))


def test_smooth_l1_is_the_notes_piecewise_function():
  x = np.linspace(-3, 3, 61).astype(np.float32)
  np.testing.assert_allclose(losses.smooth_l1(x), [ref.smooth_l1(v) for v in x], atol=1e-6)


def test_hard_nms_keeps_what_the_greedy_loop_keeps_per_class_and_batched():
  rng = np.random.default_rng(2)
  many = np.concatenate([random_boxes(rng, 40, 32.0), random_boxes(rng, 40, 32.0) * 0.5 + 8])
  scores = np.round(rng.uniform(size=len(many)), 1).astype(np.float32)  # ties: the lower index first
  for threshold in (0.3, 0.5, 0.7):
    indices, kept = jax.jit(nms.nms, static_argnums=(2, 3))(many, scores, threshold, 100)
    expected = ref.nms(many, scores, threshold)
    assert list(np.asarray(indices)[np.asarray(kept)]) == expected and int(kept.sum()) == len(expected)
  classes = rng.integers(0, 3, len(many))
  indices, kept = nms.nms(many, scores, 0.5, 100, classes=classes)
  per_class = sorted(i for c in range(3) for i in np.flatnonzero(classes == c)[
      ref.nms(many[classes == c], scores[classes == c], 0.5)])
  assert sorted(np.asarray(indices)[np.asarray(kept)].tolist()) == per_class
  valid = np.arange(len(many)) < 50  # padding is never kept
  indices, kept = nms.nms(many, scores, 0.5, 10, valid=valid)
  assert kept.shape == (10,) and np.all(np.asarray(indices)[np.asarray(kept)] < 50)
  batched = jax.vmap(lambda b, s: nms.nms(b, s, 0.5, 100))(np.stack([many, many[::-1]]), np.stack([scores, scores]))
  assert list(np.asarray(batched[0][0])[np.asarray(batched[1][0])]) == ref.nms(many, scores, 0.5)


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_soft_nms_decays_scores_as_the_loop_does(method):
  rng = np.random.default_rng(3)
  many = random_boxes(rng, 30, 24.0)
  scores = rng.uniform(size=30).astype(np.float32)
  order, final = nms.soft_nms(many, scores, method)
  expected = ref.soft_nms(many, scores, method)
  assert np.asarray(order).tolist() == [i for i, _ in expected]
  np.testing.assert_allclose(final, [s for _, s in expected], rtol=1e-5, atol=1e-6)


def test_anchors_per_level_scale_and_ratio():
  sizes, strides, scales, ratios = [(4, 5), (2, 3)], [8, 16], [(16.0, 32.0), (64.0,)], (0.5, 1.0, 2.0)
  got = anchors.grid_anchors(sizes, strides, scales, ratios)
  np.testing.assert_allclose(got, ref.anchors(sizes, strides, scales, ratios), atol=1e-4)
  assert got.shape == (4 * 5 * 6 + 2 * 3 * 3, 4)
  heights, widths = got[:, 3] - got[:, 1], got[:, 2] - got[:, 0]
  np.testing.assert_allclose(heights[:3] / widths[:3], [0.5, 0.5, 1.0], rtol=1e-5)  # ratio = height / width


def feature_map_and_rois(seed):
  rng = np.random.default_rng(seed)
  features = rng.normal(size=(13, 17, 3)).astype(np.float32)
  rois = random_boxes(rng, 8, 60.0)
  rois[0] = [-10, -6, 20, 12]  # partly outside the map
  rois[1] = [100, 90, 140, 120]  # wholly outside: reads zeros
  rois[2] = [5, 5, 5.5, 5.2]  # smaller than a cell
  return features, rois


def test_roi_pool_quantizes_as_torchvision_does():
  features, rois = feature_map_and_rois(4)
  got = roi.roi_pool(features, rois, (3, 4), 0.25)
  np.testing.assert_allclose(got, [ref.roi_pool(features, r, (3, 4), 0.25) for r in rois], atol=1e-5)


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [1, 2, 3])
def test_roi_align_samples_bilinearly_as_torchvision_does(aligned, sampling_ratio):
  features, rois = feature_map_and_rois(5)
  got = jax.jit(roi.roi_align, static_argnums=(2, 3, 4, 5))(features, rois, (7, 7), 0.25, sampling_ratio, aligned)
  expected = [ref.roi_align(features, r, (7, 7), 0.25, sampling_ratio, aligned) for r in rois]
  np.testing.assert_allclose(got, expected, atol=1e-5)
