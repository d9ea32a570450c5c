"""Images made by gradient steps on the input, the network held fixed: the class model (Simonyan et al., 2014),
the image a classifier scores highest for a class under an L2 penalty, jittered between steps (Yosinski et al.,
2015) so that it cannot hide in pixel-exact patterns; and feature inversion (Mahendran & Vedaldi, 2015), an image
whose representation matches a given one, smoothed by total variation. (The notes file inversion under
adversarial attacks; it is a reconstruction: it starts from noise, not from the image, and asks for the same
features, not a different label.)

Both run as one `lax.scan` of an optax optimizer over the image, clipped to the data's pixel range each step.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax


def total_variation(images):
  """sum_ij (x_{i,j+1} - x_ij)^2 + (x_{i+1,j} - x_ij)^2 per image (B, H, W, C) -> (B,): the beta = 2 form of
  Mahendran & Vedaldi's TV^beta, differentiable everywhere, over the (H - 1) x (W - 1) pixels with both
  neighbours."""
  right = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
  down = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
  return (jnp.square(right) + jnp.square(down)).sum(axis=(1, 2, 3))


def _ascend(objective: Callable, start, steps: int, optimizer, low, high, rng, jitter: int):
  """Minimizes `objective(x, seen)` (summed over the batch) from `start` by `steps` optimizer updates, where
  `seen` is what the network looks at: x rolled by a random shift of up to `jitter` pixels each step. x is
  clipped to [low, high] after each update."""
  state = optimizer.init(start)

  def step(carry, key):
    x, state = carry
    dy, dx = jax.random.randint(key, (2,), -jitter, jitter + 1)
    grad = jax.grad(lambda x: objective(x, jnp.roll(x, (dy, dx), axis=(1, 2))).sum())(x)
    updates, state = optimizer.update(grad, state, x)
    return (jnp.clip(optax.apply_updates(x, updates), low, high), state), None

  (x, _), _ = jax.lax.scan(step, (start, state), jax.random.split(rng, steps))
  return x


def class_model(logits_fn: Callable, start, classes, rng, steps: int = 200, l2: float = 1e-2, jitter: int = 1,
                learning_rate: float = 0.05, low: float = 0.0, high: float = 1.0, optimizer=None):
  """argmax_x S_c(x) - l2 ||x - start||^2 for each class c of `classes` (B,), from `start` (B, H, W, C), e.g.
  the training mean (Simonyan et al. subtract the mean, so their zero image is this start); S is the pre-softmax
  score `logits_fn(x)` (B, classes). `jitter` = 0: plain gradient ascent (Adam unless `optimizer`)."""

  def objective(x, seen):
    score = jnp.take_along_axis(logits_fn(seen), classes[:, None], axis=1)[:, 0]
    return l2 * jnp.square(x - start).sum(axis=(1, 2, 3)) - score

  optimizer = optimizer or optax.adam(learning_rate)
  return _ascend(objective, start, steps, optimizer, low, high, rng, jitter)


def invert(represent_fn: Callable, target, start, rng, steps: int = 300, tv: float = 1e-2, jitter: int = 0,
           learning_rate: float = 0.05, low: float = 0.0, high: float = 1.0, optimizer=None):
  """argmin_x ||Phi(x) - Phi_0||^2 / ||Phi_0||^2 + tv TV(x) from `start` (B, H, W, C), Phi = `represent_fn`
  and Phi_0 = `target` (B, ...): what the representation keeps of an image (Mahendran & Vedaldi's eq. 1 with
  their normalized loss and the beta = 2 total variation)."""
  scale = jnp.square(target).reshape(len(target), -1).sum(-1)

  def objective(x, seen):
    gap = jnp.square(represent_fn(seen) - target).reshape(len(x), -1).sum(-1)
    return gap / jnp.maximum(scale, 1e-12) + tv * total_variation(x)

  optimizer = optimizer or optax.adam(learning_rate)
  return _ascend(objective, start, steps, optimizer, low, high, rng, jitter)
