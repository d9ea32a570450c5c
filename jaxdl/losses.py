"""Per-example losses and weight penalties from the notes, built on optax where it has them."""

import jax
import jax.numpy as jnp
import optax


def softmax_cross_entropy(logits, labels, label_smoothing: float = 0.0):
  """L_i = -log softmax(s)_{y_i}, against labels smoothed by `label_smoothing`; shape (B,)."""
  return soft_cross_entropy(logits, jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype), label_smoothing)


def soft_cross_entropy(logits, targets, label_smoothing: float = 0.0):
  """Cross-entropy against a distribution over classes (mixup / cutmix targets); shape (B,)."""
  if label_smoothing:
    targets = optax.smooth_labels(targets, label_smoothing)
  return optax.softmax_cross_entropy(logits, targets)


def distillation_kl(student_logits, teacher_logits, temperature: float):
  """Hinton et al.'s soft-target term tau^2 KL(softmax(t / tau) || softmax(s / tau)); shape (B,). The tau^2 keeps
  its gradients on the scale of a cross-entropy's as tau grows."""
  targets = jax.nn.softmax(teacher_logits / temperature)
  return temperature ** 2 * optax.kl_divergence(jax.nn.log_softmax(student_logits / temperature), targets)


def smooth_l1(x):
  """Fast R-CNN's box-regression loss, elementwise: 0.5 x^2 where |x| < 1, else |x| - 0.5 (optax's Huber loss
  with delta 1, which is this)."""
  return optax.huber_loss(x, delta=1.0)


def multiclass_hinge(logits, labels, margin: float = 1.0):
  """The notes' multiclass SVM loss L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin); shape (B,).

  Hand-written because optax's `multiclass_hinge_loss` is the Crammer-Singer max, not this sum.
  """
  correct = jnp.take_along_axis(logits, labels[:, None], axis=-1)  # (B, 1)
  margins = jnp.maximum(0.0, logits - correct + margin)             # (B, C)
  return margins.sum(-1) - margin  # the j = y_i term is exactly max(0, margin) = margin


def mean_squared_error(predictions, targets):
  """Mean over all but the batch axis of (prediction - target)^2; shape (B,)."""
  err = optax.squared_error(predictions, targets)
  return err.reshape(err.shape[0], -1).mean(-1)


def _kernels(params):
  """The weight matrices and filters: penalties leave biases and norm scales alone."""
  return [x for x in jax.tree.leaves(params) if x.ndim > 1]


def l1_penalty(params):
  """sum |w| over every weight matrix / filter."""
  return sum(jnp.abs(w).sum() for w in _kernels(params))


def l2_penalty(params):
  """sum w^2 over every weight matrix / filter (the notes' R(W), without a 1/2)."""
  return sum(jnp.square(w).sum() for w in _kernels(params))


def bernoulli_nll(logits, targets):
  """-log p(x | z) of pixels in [0, 1] under Bernoulli means sigmoid(logits), in nats per pixel (averaged over
  all but the batch axis: comparable across image sizes); shape (B,)."""
  nll = optax.sigmoid_binary_cross_entropy(logits, targets)
  return nll.reshape(nll.shape[0], -1).mean(-1)


def gaussian_kl(mean, log_variance):
  """KL(N(mean, diag(exp(log_variance))) || N(0, I)) in closed form,
  1/2 sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2) (Kingma & Welling, appendix B); shape (B,)."""
  return 0.5 * jnp.sum(jnp.exp(log_variance) + jnp.square(mean) - 1.0 - log_variance, axis=-1)


def sparsity_kl(activations, target: float):
  """A sparse autoencoder's penalty sum_j KL(rho || rho_hat_j) between Bernoulli means: the target rate rho and
  each code unit's mean activation rho_hat_j over the batch (activations in (0, 1)); a scalar."""
  rate = jnp.clip(activations.mean(0), 1e-6, 1 - 1e-6)
  return jnp.sum(target * jnp.log(target / rate) + (1 - target) * jnp.log((1 - target) / (1 - rate)))
