"""The per-layer summary: multiply-adds from the notes' formula, parameters that add up to the model's."""

import jax
import jax.numpy as jnp

from jaxdl.analysis import layer_table
from jaxdl.models import alexnet, resnet
from jaxdl.nn.conv import conv_macs, conv_output_size


def test_alexnet_rows_match_the_conv_arithmetic():
  rows = layer_table.layers(alexnet.AlexNet(), (224, 224, 3))
  conv1 = rows[0]
  side = conv_output_size(224, 11, 4, 2)
  assert conv1.output_shape == (side, side, 64) and conv1.params == 23_296
  assert conv1.macs == conv_macs(3, 64, 11, side, side)
  assert sum(r.params for r in rows) == 61_100_840
  assert sum(r.macs for r in rows) == 714_188_480  # torchvision's AlexNet: 0.71 GMACs


def test_layer_params_add_up_for_a_resnet():
  model = resnet.ResNet18(num_classes=10, stem="small")
  rows = layer_table.layers(model, (32, 32, 3))
  params = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))["params"]
  assert sum(r.params for r in rows) == sum(x.size for x in jax.tree.leaves(params))
  assert any(r.path.startswith("BasicBlock_7/") for r in rows)
  text = layer_table.format_table(rows, 11_173_962)
  assert text.splitlines()[-1].split()[:2] == ["total", "11,173,962"]
