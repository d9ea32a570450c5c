"""CNN training throughput: ResNet18 (small stem) on 32x32x3 batches of 128, `--conv_impl=lax` vs `matmul`.

Data are CIFAR-shaped synthetic images (`--data=synthetic`), so no download is needed. Prints one JSON line:
for float32 and bfloat16, the bare jitted step's images/s under each convolution implementation and their
ratio (matmul / lax, measured in this run); the full jaxdl loop's images/s and its overhead over the bare step
(`loop_ratio`, goal <= 1.05) under the backend's default (`auto`); and a per-op table of one ResNet conv
(3x3, 64->64 on 128x32x32x64: forward, input gradient, weight gradient, all three) in milliseconds.
The PyTorch peer is `bench/peers/torch_cnn_throughput.py`.

  python bench/cnn_throughput.py [--steps=5] [--model=resnet18]
"""

import dataclasses
import json

import jax
import jax.numpy as jnp
from absl import app, flags, logging

from jaxdl.config import Config
from jaxdl.nn import matmul_conv
from timing import bare_seconds_per_step, best_seconds, full_seconds_per_step

_STEPS = flags.DEFINE_integer("steps", 5, "Steps per timed loop (the first, compiling one is not timed).")
_MODEL = flags.DEFINE_string("model", "resnet18", "Registered model with a small-input stem.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Global batch size.")


def conv_ops_ms(impl: str, batch: int) -> dict:
  """Forward, input gradient, weight gradient and all three of ResNet18's first-stage 3x3 conv."""
  kx, kw, kc = jax.random.split(jax.random.PRNGKey(0), 3)
  x, w = jax.random.normal(kx, (batch, 32, 32, 64)), jax.random.normal(kw, (3, 3, 64, 64)) / 24
  cotangent = jax.random.normal(kc, (batch, 32, 32, 64))

  def conv(x, w):
    with matmul_conv.use(impl):
      return matmul_conv.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)),
                                              dimension_numbers=("NHWC", "HWIO", "NHWC"))

  def grads(argnums):
    return jax.jit(jax.grad(lambda x, w: jnp.vdot(conv(x, w), cotangent), argnums=argnums))

  both = jax.jit(lambda x, w: (lambda y, pullback: (y, pullback(cotangent)))(*jax.vjp(conv, x, w)))
  ops = {"forward": jax.jit(conv), "input_grad": grads(0), "weight_grad": grads(1), "forward_and_both_grads": both}
  return {f"{name}_ms": round(best_seconds(fn, x, w) * 1e3, 1) for name, fn in ops.items()}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  result = {"benchmark": "cnn_throughput", "model": _MODEL.value, "batch_size": _BATCH.value, "steps": _STEPS.value,
            "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}", "auto": matmul_conv.resolved("auto")}
  for dtype in ("float32", "bfloat16"):
    config = Config(data="synthetic", data_args="image_size=32,channels=3,train_size=2000,test_size=256",
                    model=_MODEL.value, model_args="stem=small", optim="nesterov", lr=0.1, weight_decay=5e-4,
                    batch_size=_BATCH.value, steps=_STEPS.value, log_every=10, eval_every=0, dtype=dtype)
    bare = {impl: bare_seconds_per_step(dataclasses.replace(config, conv_impl=impl)) for impl in ("lax", "matmul")}
    row = {f"{impl}_images_per_s": round(_BATCH.value / seconds, 1) for impl, seconds in bare.items()}
    row["matmul_over_lax"] = round(bare["lax"] / bare["matmul"], 2)
    full = full_seconds_per_step(config)  # auto's bare step is the one measured for the implementation it picks
    auto_bare = bare[matmul_conv.resolved("auto")]
    row.update(auto_full_images_per_s=round(_BATCH.value / full, 1), loop_ratio=round(full / auto_bare, 4),
               cifar10_epoch_s=round(50_000 / (_BATCH.value / full), 1))
    result[dtype] = row
  result["conv_3x3_64_at_32x32_ms"] = {impl: conv_ops_ms(impl, _BATCH.value) for impl in ("lax", "matmul")}
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
