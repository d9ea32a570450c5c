"""Batch augmentations as pure, keyed JAX functions: jitted inside the train step, deterministic per key.

Each op maps (key, batch) -> batch on {"image": (B, H, W, C) in [0, 1], "label": (B,), and, once
mixup/cutmix ran, "targets": (B, classes) soft labels}. `parse("flip,crop=4,mixup=0.2")` chains them
in order; the train step calls the chain with a key folded from the step's key.
"""

import functools
from collections.abc import Callable
from typing import Annotated

import jax
import jax.numpy as jnp

from jaxdl import args
from jaxdl.args import NonNegativeInt, PositiveFloat, PositiveInt, Range, UnitInterval
from jaxdl.errors import UsageError

Batch = dict[str, jax.Array]


def random_flip(key, images):
  """Mirror each image left-right with probability 1/2."""
  flip = jax.random.bernoulli(key, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1], images)


def random_crop(key, images, padding: NonNegativeInt = 4):
  """Zero-pad by `padding` and cut a random crop of the original size from each image (a random translation)."""
  b, h, w, _ = images.shape
  padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  offsets = jax.random.randint(key, (b, 2), 0, 2 * padding + 1)
  crop = lambda img, off: jax.lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, img.shape[-1]))  # noqa: E731
  return jax.vmap(crop)(padded, offsets)


def _gray(images):
  if images.shape[-1] == 1:
    return images
  return (images @ jnp.asarray([0.299, 0.587, 0.114], images.dtype))[..., None]  # ITU-R 601 luma


def color_jitter(key, images, brightness: UnitInterval = 0.4, contrast: UnitInterval = 0.4,
                 saturation: UnitInterval = 0.4):
  """Scale brightness, contrast (around each image's mean gray) and saturation (around its gray) by factors
  drawn uniformly from [1 - s, 1 + s]."""
  kb, kc, ks = jax.random.split(key, 3)
  factor = lambda k, s: jax.random.uniform(k, (images.shape[0], 1, 1, 1), minval=1 - s, maxval=1 + s)  # noqa
  x = images * factor(kb, brightness)
  mean = _gray(x).mean(axis=(1, 2, 3), keepdims=True)
  x = (x - mean) * factor(kc, contrast) + mean
  gray = _gray(x)
  x = (x - gray) * factor(ks, saturation) + gray
  return jnp.clip(x, 0.0, 1.0)


def _affine(images, matrices):
  """Resamples each image (bilinear, zero outside) at matrices @ (y, x) around its centre."""
  _, h, w, c = images.shape
  yy, xx = jnp.meshgrid(jnp.arange(h) - (h - 1) / 2, jnp.arange(w) - (w - 1) / 2, indexing="ij")
  grid = jnp.stack([yy.ravel(), xx.ravel()])                                # (2, H*W)

  def one(img, m):
    src = m @ grid + jnp.asarray([[(h - 1) / 2], [(w - 1) / 2]])            # (2, H*W) source coordinates
    sample = lambda ch: jax.scipy.ndimage.map_coordinates(ch, list(src), order=1, mode="constant")  # noqa
    return jax.vmap(sample, in_axes=-1, out_axes=-1)(img).reshape(h, w, c)

  return jax.vmap(one)(images, matrices)


def rotate(key, images, degrees: Annotated[float, Range(0, 180)] = 15.0):
  """Rotate each image by an angle drawn uniformly from [-degrees, degrees]."""
  theta = jnp.deg2rad(jax.random.uniform(key, (images.shape[0],), minval=-degrees, maxval=degrees))
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  return _affine(images, jnp.stack([jnp.stack([cos, -sin], -1), jnp.stack([sin, cos], -1)], -2))


def _targets(batch: Batch, num_classes: int) -> jax.Array:
  return batch.get("targets", jax.nn.one_hot(batch["label"], num_classes))


def mixup(key, batch: Batch, num_classes: int, alpha: PositiveFloat = 0.2) -> Batch:
  """x = lam x_i + (1 - lam) x_j, same for the labels, lam ~ Beta(alpha, alpha) (Zhang et al., 2018)."""
  k_lam, k_perm = jax.random.split(key)
  lam = jax.random.beta(k_lam, alpha, alpha)
  perm = jax.random.permutation(k_perm, batch["image"].shape[0])
  targets = _targets(batch, num_classes)
  return {**batch, "image": lam * batch["image"] + (1 - lam) * batch["image"][perm],
          "targets": lam * targets + (1 - lam) * targets[perm]}


def cutmix(key, batch: Batch, num_classes: int, alpha: PositiveFloat = 1.0) -> Batch:
  """Paste a random box from another image; its label weight is the pasted area fraction (Yun et al., 2019)."""
  k_lam, k_perm, k_y, k_x = jax.random.split(key, 4)
  images = batch["image"]
  b, h, w, _ = images.shape
  cut = jnp.sqrt(1.0 - jax.random.beta(k_lam, alpha, alpha))               # box side / image side
  cy, cx = jax.random.randint(k_y, (), 0, h), jax.random.randint(k_x, (), 0, w)
  y0, y1 = jnp.clip(cy - (cut * h / 2).astype(jnp.int32), 0, h), jnp.clip(cy + (cut * h / 2).astype(jnp.int32), 0, h)
  x0, x1 = jnp.clip(cx - (cut * w / 2).astype(jnp.int32), 0, w), jnp.clip(cx + (cut * w / 2).astype(jnp.int32), 0, w)
  rows, cols = jnp.arange(h)[:, None], jnp.arange(w)[None, :]
  box = ((rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1))[None, :, :, None]
  perm = jax.random.permutation(k_perm, b)
  area = box.mean()                                                         # the exact pasted fraction
  targets = _targets(batch, num_classes)
  mixed = (1 - area) * targets + area * targets[perm]
  return {**batch, "image": jnp.where(box, images[perm], images), "targets": mixed}


def rand_augment(key, images, n: PositiveInt = 2, m: Annotated[int, Range(0, 30)] = 9):
  """RandAugment (Cubuk et al., 2020): n ops drawn per image from a fixed list, all at magnitude m of 30."""
  level = m / 30.0
  ops = [
      lambda k, x: x,                                                               # identity
      lambda k, x: jnp.clip(x * (1 + 0.9 * level), 0, 1),                           # brightness
      lambda k, x: jnp.clip((x - x.mean()) * (1 + 0.9 * level) + x.mean(), 0, 1),   # contrast
      lambda k, x: rotate(k, x[None], 30.0 * level)[0],                             # rotate
      lambda k, x: jnp.roll(x, int(round(0.45 * level * x.shape[1])), axis=1),      # translate y
      lambda k, x: jnp.roll(x, int(round(0.45 * level * x.shape[0])), axis=0),      # translate x
      lambda k, x: jnp.floor(x * 2 ** max(1, round(8 - 4 * level))) / 2 ** max(1, round(8 - 4 * level)),  # posterize
      lambda k, x: jnp.where(x < 1 - level, x, 1 - x),                              # solarize
  ]

  def one(k, img):
    for kk in jax.random.split(k, n):
      k_op, k_arg = jax.random.split(kk)
      img = jax.lax.switch(jax.random.randint(k_op, (), 0, len(ops)), ops, k_arg, img)
    return img

  return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)


IMAGE_OPS = {"flip": (random_flip, None), "crop": (random_crop, "padding"), "jitter": (color_jitter, "brightness"),
             "rotate": (rotate, "degrees"), "randaugment": (rand_augment, "n")}
MIX_OPS = {"mixup": (mixup, "alpha"), "cutmix": (cutmix, "alpha")}


def parse(spec: str, num_classes: int) -> Callable[[jax.Array, Batch], Batch] | None:
  """`--augment=flip,crop=4,mixup=0.2` -> one function (key, batch) -> batch; None for an empty spec."""
  steps = []
  for item in filter(None, (s.strip() for s in spec.split(","))):
    name, _, value = item.partition("=")
    if name not in IMAGE_OPS and name not in MIX_OPS:
      raise UsageError(f"--augment: unknown op {name!r}; choose from {', '.join([*IMAGE_OPS, *MIX_OPS])}")
    fn, arg = {**IMAGE_OPS, **MIX_OPS}[name]
    if value and arg is None:
      raise UsageError(f"--augment: {name} takes no value")
    kwargs = {arg: args.parse_value(value, args.parameters(fn)[arg][0], f"--augment {name}")} if value else {}
    if name in MIX_OPS:
      steps.append(functools.partial(fn, num_classes=num_classes, **kwargs))
    else:
      steps.append(lambda k, b, fn=fn, kwargs=kwargs: {**b, "image": fn(k, b["image"], **kwargs)})
  if not steps:
    return None

  def augment(key, batch: Batch) -> Batch:
    for k, step in zip(jax.random.split(key, len(steps)), steps):
      batch = step(k, batch)
    return batch

  return augment
