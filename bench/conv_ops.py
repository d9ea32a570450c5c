"""Per-op convolution timings on the layer shapes the CNN families use, for each `--conv_impl` formulation:
lax, im2col, mixed (lax's forward pass and input gradient, im2col's weight gradient), and matmul (the one
`matmul_conv.formulation` picks for the layer, named in `matmul_picks`). This table is where that rule comes from.

Prints one JSON line per (dtype, layer): milliseconds of the forward pass, input gradient, weight gradient and
all three, per formulation, measured in this run.

  python bench/conv_ops.py [--batch_size=32] [--dtypes=float32,bfloat16] [--only=resnet18]
"""

import json

from absl import app, flags

from jaxdl import runtime
from jaxdl.nn import matmul_conv
from timing import conv_ops_ms

_BATCH = flags.DEFINE_integer("batch_size", 32, "Images per batch.")
_DTYPES = flags.DEFINE_list("dtypes", ["float32", "bfloat16"], "Data types to time.")
_ONLY = flags.DEFINE_string("only", "", "Time only the layers whose name contains this.")

# name: (input size, in channels, out channels, kernel, stride, padding, groups)
LAYERS = {
    "resnet18 stem 3x3 3->64 @32": (32, 3, 64, 3, 1, 1, 1),
    "resnet18 3x3 64->64 @32": (32, 64, 64, 3, 1, 1, 1),
    "resnet18 3x3 s2 64->128 @32": (32, 64, 128, 3, 2, 1, 1),
    "resnet18 3x3 128->128 @16": (16, 128, 128, 3, 1, 1, 1),
    "resnet18 1x1 s2 64->128 @32": (32, 64, 128, 1, 2, 0, 1),
    "resnet18 3x3 256->256 @8": (8, 256, 256, 3, 1, 1, 1),
    "resnet18 3x3 512->512 @4": (4, 512, 512, 3, 1, 1, 1),
    "lenet5 5x5 1->6 @32": (32, 1, 6, 5, 1, 0, 1),
    "lenet5 5x5 6->16 @14": (14, 6, 16, 5, 1, 0, 1),
    "imagenet stem 7x7 s2 3->64 @112": (112, 3, 64, 7, 2, 3, 1),
    "alexnet 11x11 s4 3->64 @224": (224, 3, 64, 11, 4, 2, 1),
    "alexnet 5x5 64->192 @27": (27, 64, 192, 5, 1, 2, 1),
    "resnext 3x3 g32 128->128 @16": (16, 128, 128, 3, 1, 1, 32),
    "depthwise 3x3 64 @32": (32, 64, 64, 3, 1, 1, 64),
    "bottleneck 1x1 256->64 @8": (8, 256, 64, 1, 1, 0, 1),
}


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  for dtype in _DTYPES.value:
    for name, layer in LAYERS.items():
      if _ONLY.value in name:
        size, channels, features, kernel, stride, _, groups = layer
        picks = matmul_conv.formulation((_BATCH.value, size, size, channels),
                                        (kernel, kernel, channels // groups, features), (stride, stride), groups, dtype)
        row = {"layer": name, "dtype": dtype, "batch_size": _BATCH.value, "matmul_picks": picks}
        row.update({f: conv_ops_ms(f, _BATCH.value, *layer, dtype) for f in ("lax", "im2col", "mixed")})
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
  app.run(main)
