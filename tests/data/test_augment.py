"""Augmentations: one pinned invariant each, and determinism per key."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.data import augment
from jaxdl.errors import UsageError

KEY = jax.random.PRNGKey(0)
IMAGES = jnp.asarray(np.random.default_rng(0).uniform(size=(16, 12, 10, 3)), jnp.float32)
BATCH = {"image": IMAGES, "label": jnp.arange(16) % 10}


@pytest.mark.parametrize("spec", ["flip", "crop=2", "jitter", "rotate=20", "randaugment", "mixup=0.4", "cutmix",
                                  "flip,crop=4,cutmix=1.0"])
def test_same_key_same_batch_other_key_other_batch(spec):
  fn = jax.jit(augment.parse(spec, num_classes=10))
  a, b, c = fn(KEY, BATCH), fn(KEY, BATCH), fn(jax.random.PRNGKey(1), BATCH)
  chex.assert_trees_all_equal(a, b)
  assert not np.array_equal(a["image"], c["image"])
  chex.assert_shape(a["image"], IMAGES.shape)
  assert float(a["image"].min()) >= 0.0 and float(a["image"].max()) <= 1.0


def test_flip_mirrors_or_keeps_each_image():
  out = augment.random_flip(KEY, IMAGES)
  flipped = [bool(jnp.array_equal(o, i[:, ::-1])) for o, i in zip(out, IMAGES)]
  kept = [bool(jnp.array_equal(o, i)) for o, i in zip(out, IMAGES)]
  assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_crop_is_a_translation_within_the_padding():
  out = augment.random_crop(KEY, IMAGES, padding=2)
  for o, i in zip(out, IMAGES):
    matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
               if np.array_equal(o, np.roll(np.pad(i, ((2, 2), (2, 2), (0, 0))), (dy, dx), (0, 1))[2:-2, 2:-2])]
    assert matches
  chex.assert_trees_all_equal(augment.random_crop(KEY, IMAGES, padding=0), IMAGES)


def test_zero_strength_jitter_and_rotation_are_identities():
  chex.assert_trees_all_close(augment.color_jitter(KEY, IMAGES, 0.0, 0.0, 0.0), IMAGES, atol=1e-6)
  chex.assert_trees_all_close(augment.rotate(KEY, IMAGES, 0.0), IMAGES, atol=1e-5)


def test_mixup_mixes_images_and_labels_with_one_weight():
  """With image k filled with the value k, pixel = lam * i + (1 - lam) * j and the targets carry lam and 1 - lam."""
  labels = jnp.arange(8)
  images = jnp.broadcast_to(labels.astype(jnp.float32)[:, None, None, None], (8, 4, 4, 1))
  out = augment.mixup(KEY, {"image": images, "label": labels}, num_classes=8)
  chex.assert_trees_all_close(out["targets"].sum(-1), jnp.ones(8), atol=1e-6)
  chex.assert_trees_all_close(out["image"][:, 0, 0, 0], out["targets"] @ jnp.arange(8.0), atol=1e-5)


def test_cutmix_label_weight_is_the_pasted_area():
  labels = jnp.arange(8)
  images = jnp.broadcast_to(labels.astype(jnp.float32)[:, None, None, None] / 8, (8, 16, 16, 1))
  for seed in range(5):
    out = augment.cutmix(jax.random.PRNGKey(seed), {"image": images, "label": labels}, num_classes=8)
    chex.assert_trees_all_close(out["targets"].sum(-1), jnp.ones(8), atol=1e-6)
    changed = (out["image"] != images).mean(axis=(1, 2, 3))           # pasted pixels per image
    own = out["targets"][jnp.arange(8), labels]
    pasted_from_other = jnp.where(changed > 0, 1.0 - own, 0.0)
    chex.assert_trees_all_close(pasted_from_other, changed, atol=1e-6)


@pytest.mark.parametrize("spec,message", [("blur", "unknown op 'blur'"), ("flip=2", "flip takes no value"),
                                          ("crop=x", "--augment crop: expected int, got 'x'"),
                                          ("mixup=0", "--augment mixup=0 is out of range: must be > 0")])
def test_bad_specs(spec, message):
  with pytest.raises(UsageError, match=message):
    augment.parse(spec, 10)
  assert augment.parse("", 10) is None
