"""CNN training throughput: ResNet18 (small stem) on 32x32x3 batches of 128, jaxdl loop vs bare step, f32 and bf16.

Data are CIFAR-shaped synthetic images (`--data=synthetic`), so no download is needed. Prints one
JSON line: images/s of each loop and dtype, `ratio` (full / bare time per step; goal <= 1.05) and
the time of a CIFAR-10-sized epoch (50,000 images). Absolute numbers mean something on a GPU only.

  python bench/cnn_throughput.py [--steps=30] [--model=resnet18]
"""

import json

import jax
from absl import app, flags, logging

from jaxdl.config import Config
from timing import bare_seconds_per_step, full_seconds_per_step

_STEPS = flags.DEFINE_integer("steps", 30, "Steps per timed loop (the first, compiling one is not timed).")
_MODEL = flags.DEFINE_string("model", "resnet18", "Registered model with a small-input stem.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Global batch size.")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  result = {"benchmark": "cnn_throughput", "model": _MODEL.value, "batch_size": _BATCH.value, "steps": _STEPS.value,
            "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}"}
  for dtype in ("float32", "bfloat16"):
    config = Config(data="synthetic", data_args="image_size=32,channels=3,train_size=10000,test_size=256",
                    model=_MODEL.value, model_args="stem=small", optim="nesterov", lr=0.1, weight_decay=5e-4,
                    batch_size=_BATCH.value, steps=_STEPS.value, log_every=10, eval_every=0, dtype=dtype)
    bare, full = bare_seconds_per_step(config), full_seconds_per_step(config)
    result[dtype] = {"bare_images_per_s": round(_BATCH.value / bare, 1),
                     "full_images_per_s": round(_BATCH.value / full, 1), "ratio": round(full / bare, 4),
                     "cifar10_epoch_s": round(50_000 / (_BATCH.value / full), 1)}
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
