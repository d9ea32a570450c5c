"""CNN training throughput: ResNet18 (small stem) on 32x32x3 batches of 128, `--conv_impl=lax` vs `matmul`.

Data are CIFAR-shaped synthetic images (`--data=synthetic`), so no download is needed. Prints one JSON line:
for float32 and bfloat16, the bare jitted step's images/s under each convolution implementation and their
ratio (matmul / lax, measured in this run); the full jaxdl loop's images/s and its overhead over the bare step
(`loop_ratio`, goal <= 1.05) under the backend's default (`auto`); and a per-op table of one ResNet conv
(3x3, 64->64 on 128x32x32x64, float32: forward, input gradient, weight gradient, all three) in
milliseconds; `bench/conv_ops.py` has the table for every family's layer shapes.
The PyTorch peer is `bench/peers/torch_cnn_throughput.py`.

  python bench/cnn_throughput.py [--steps=5] [--model=resnet18]
"""

import dataclasses
import json

import jax
from absl import app, flags, logging

from jaxdl import runtime
from jaxdl.config import Config
from jaxdl.nn import matmul_conv
from timing import bare_seconds_per_step, conv_ops_ms, full_seconds_per_step

_STEPS = flags.DEFINE_integer("steps", 5, "Steps per timed loop (the first, compiling one is not timed).")
_MODEL = flags.DEFINE_string("model", "resnet18", "Registered model with a small-input stem.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Global batch size.")


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
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
  layer = (32, 64, 64, 3, 1, 1, 1)  # input size, channels, features, kernel, stride, padding, groups
  result["conv_3x3_64_at_32x32_ms"] = {f: conv_ops_ms(f, _BATCH.value, *layer, "float32") for f in ("lax", "matmul")}
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
