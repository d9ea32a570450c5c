"""Which pixels a classifier's score for a class rests on: vanilla-gradient saliency (Simonyan et al., 2014),
class activation maps (Zhou et al., 2016) and Grad-CAM (Selvaraju et al., 2017).

Layers are named by their flax path ("layer3/block1/conv2", as `--mode=summary` lists them) and read with
`nn.intercept_methods`, so any registered model works without a model-specific hook. Scores are the
pre-softmax logits.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def saliency(logits_fn, images, labels):
  """d S_y / d x for each image (B, H, W, C), S = `logits_fn(images)` (B, classes): what a small change of
  each pixel does to the score of its label."""
  return jax.grad(lambda x: jnp.take_along_axis(logits_fn(x), labels[:, None], axis=1).sum())(images)


def _apply_with_layer(model: nn.Module, variables, images, layer: str, shift=None, **kwargs):
  """(logits, the named layer's output, the kernel of the last Dense called), adding `shift` to that output
  when given (so that a gradient with respect to `shift` is one with respect to the activation)."""
  seen = {}

  def intercept(next_fun, args, call_kwargs, context):
    out = next_fun(*args, **call_kwargs)
    if context.method_name != "__call__":
      return out
    if "/".join(context.module.path) == layer:
      out = out if shift is None else out + shift
      seen["activation"] = out
    if isinstance(context.module, nn.Dense):
      seen["head"] = context.module.variables["params"]["kernel"]
    return out

  with nn.intercept_methods(intercept):
    logits = model.apply(variables, images, **kwargs)
  if "activation" not in seen:
    raise ValueError(f"{type(model).__name__} has no layer {layer!r} (--mode=summary lists its layers)")
  return logits, seen["activation"], seen.get("head")


def class_activation_map(model: nn.Module, variables, images, labels, layer: str, **kwargs):
  """M_y(h, w) = sum_k w_ky f_hwk (B, h, w) for a model whose named last conv layer f is globally average-pooled
  into its last Dense layer W (Zhou et al.'s eq. 2: the sum runs over the channels k, the weights carry no h, w;
  the notes' middle term has them the other way round)."""
  _, features, head = _apply_with_layer(model, variables, images, layer, **kwargs)
  if head is None or head.shape[0] != features.shape[-1]:
    raise ValueError(f"CAM needs {layer!r} pooled straight into the last Dense layer (global average pooling "
                     "then one linear layer); use Grad-CAM for other models")
  return jnp.einsum("bhwk,bk->bhw", features, head[:, labels].T)


def grad_cam(model: nn.Module, variables, images, labels, layer: str, **kwargs):
  """ReLU(sum_k alpha_k A_k) (B, h, w) with alpha_k = mean_hw dS_y/dA_hwk, A the named layer's output and S_y
  the pre-softmax score of each image's label."""
  _, activation, _ = jax.eval_shape(lambda x: _apply_with_layer(model, variables, x, layer, **kwargs), images)

  def score(shift):
    logits, a, _ = _apply_with_layer(model, variables, images, layer, shift, **kwargs)
    return jnp.take_along_axis(logits, labels[:, None], axis=1).sum(), a

  grads, a = jax.grad(score, has_aux=True)(jnp.zeros(activation.shape, activation.dtype))
  alphas = grads.mean(axis=(1, 2))  # (B, K)
  return jax.nn.relu(jnp.einsum("bhwk,bk->bhw", a, alphas))


def layer_output(model: nn.Module, variables, images, layer: str, **kwargs):
  """The named layer's output on `images`: the representation feature inversion matches."""
  return _apply_with_layer(model, variables, images, layer, **kwargs)[1]


def spatial_layers(model: nn.Module, variables, images, **kwargs) -> list[str]:
  """The paths of the layers whose output is a (B, h, w, K) map of more than one position, in the order they
  finish (a block after the layers inside it), traced abstractly: the last one is the default layer for CAM,
  Grad-CAM and inversion (a 1 x 1 map has nothing to show where)."""
  finished = []

  def record(next_fun, args, call_kwargs, context):
    out = next_fun(*args, **call_kwargs)
    spatial = getattr(out, "ndim", 0) == 4 and out.shape[1] * out.shape[2] > 1
    if context.method_name == "__call__" and spatial and context.module.path:
      finished.append("/".join(context.module.path))
    return out

  def run(x):
    with nn.intercept_methods(record):
      return model.apply(variables, x, **kwargs)

  jax.eval_shape(run, images)
  return list(dict.fromkeys(reversed(finished)))[::-1]  # a layer called twice counts where it last finished
