"""ViT, DeiT and Swin: patch embedding, position interpolation, the distillation heads, Swin's windows, shifted
masks and relative positions, attention rollout, and the summary's attention multiply-adds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.analysis import layer_table, rollout
from jaxdl.models import swin, vit
from tests.reference.attention import attention_rollout as reference_rollout

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(size=(2, 16, 16, 3)).astype(np.float32)
TINY = dict(patch_size=4, width=16, depth=2, num_heads=2, num_classes=5)


def test_strided_conv_patch_embedding_is_patchify_then_linear():
  layer = vit.PatchEmbedding(4, 8)
  variables = jax.jit(layer.init)(jax.random.PRNGKey(0), IMAGES)
  kernel, bias = variables["params"]["proj"]["kernel"], variables["params"]["proj"]["bias"]  # (4, 4, 3, 8)
  patches = vit.patchify(IMAGES, 4)                                                     # (2, 4, 4, 48)
  np.testing.assert_allclose(patches[0, 1, 2], IMAGES[0, 4:8, 8:12].reshape(-1))
  linear = patches @ kernel.reshape(-1, 8) + bias
  np.testing.assert_allclose(layer.apply(variables, IMAGES), linear, rtol=1e-5, atol=1e-5)


def test_position_grid_is_interpolated_when_the_image_size_changes():
  """Applied to 24x24 images, a model initialized at 16x16 uses its 4x4 position grid resized to 6x6: the same
  as a model whose table was resized beforehand."""
  model = vit.ViT(**TINY)
  variables = jax.jit(model.init)(jax.random.PRNGKey(0), IMAGES)
  grid = variables["params"]["position_embedding"]
  assert grid.shape == (4, 4, 16)
  bigger = RNG.uniform(size=(2, 24, 24, 3)).astype(np.float32)
  resized = jax.tree.map(lambda x: x, variables)
  resized["params"]["position_embedding"] = vit.resize_positions(grid, (6, 6))
  apply = jax.jit(model.apply)
  np.testing.assert_allclose(apply(variables, bigger), apply(resized, bigger), rtol=1e-5, atol=1e-5)
  assert vit.resize_positions(grid, (4, 4)) is grid
  corners = vit.resize_positions(jnp.arange(4.0)[None, :, None] * jnp.ones((4, 1, 1)), (4, 8))[0, :, 0]
  assert np.all(np.diff(corners) > 0)  # a ramp stays a ramp


def test_deit_trains_two_heads_and_predicts_their_mean():
  model = vit.ViT(**TINY, distilled=True)
  variables = jax.jit(model.init)(jax.random.PRNGKey(0), IMAGES)
  assert variables["params"]["token_position_embedding"].shape == (2, 16)
  assert model.num_prefix_tokens == 2 and vit.ViT(**TINY).num_prefix_tokens == 1
  params = jax.tree.map(lambda x: x + 0.01 * RNG.standard_normal(x.shape).astype(x.dtype), variables["params"])
  (logits, (distill,)), mean = jax.jit(lambda p: (model.apply({"params": p}, IMAGES, train=True),
                                                   model.apply({"params": p}, IMAGES)))(params)
  assert not np.allclose(logits, distill)
  np.testing.assert_allclose(mean, (logits + distill) / 2, rtol=1e-5, atol=1e-6)


def test_window_partition_and_merge_are_inverse():
  x = RNG.standard_normal((2, 8, 12, 3)).astype(np.float32)
  windows = swin.window_partition(x, 4)
  assert windows.shape == (2 * 2 * 3, 16, 3)
  np.testing.assert_array_equal(windows[4], x[0, 4:8, 4:8].reshape(16, 3))  # window (1, 1) of image 0
  np.testing.assert_array_equal(swin.window_merge(windows, 8, 12), x)


def test_relative_position_index_numbers_each_offset_once():
  window = 3
  index = swin.relative_position_index(window)
  coords = [(i, j) for i in range(window) for j in range(window)]
  for q, (qi, qj) in enumerate(coords):
    for k, (ki, kj) in enumerate(coords):
      assert index[q, k] == (qi - ki + window - 1) * (2 * window - 1) + (qj - kj + window - 1)
  assert len(np.unique(index)) == (2 * window - 1) ** 2


@pytest.mark.parametrize("height, width, window", [(8, 8, 4), (12, 8, 4), (14, 14, 7)])
def test_shifted_window_mask_never_crosses_a_border_the_shift_created(height, width, window):
  """After rolling the image by -M/2, two tokens in one window may attend to each other exactly when they were
  neighbours within one window-sized block of the unrolled image (the rolled-in edge is another region)."""
  shift = window // 2
  rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  origin = np.roll(np.stack([rows, cols], -1), (-shift, -shift), axis=(0, 1))           # where each token came from
  origin = swin.window_partition(origin[None], window)                                  # (windows, M*M, 2)
  distance = np.abs(origin[:, :, None, :] - origin[:, None, :, :]).max(-1)
  np.testing.assert_array_equal(swin.shifted_window_mask(height, width, window, shift), distance < window)


def test_shifted_block_gives_no_weight_across_the_created_borders():
  block = swin.SwinBlock(num_heads=2, window=4, shift=2)
  x = RNG.standard_normal((1, 8, 8, 8)).astype(np.float32)
  variables, (_, state) = jax.jit(lambda x: (v := block.init(jax.random.PRNGKey(0), x),
                                             block.apply(v, x, mutable=["intermediates"])))(x)
  (weights,) = state["intermediates"]["attention"]["attention_weights"]                  # (4 windows, 2, 16, 16)
  allowed = swin.shifted_window_mask(8, 8, 4, 2)[:, None]
  assert np.all(np.asarray(weights)[~np.broadcast_to(allowed, weights.shape)] == 0)
  assert np.all(np.asarray(weights)[np.broadcast_to(allowed, weights.shape)] > 0)
  bias_table = variables["params"]["relative_position_bias"]["table"]
  assert bias_table.shape == (7 * 7, 2)


def test_swin_runs_small_images_and_refuses_sizes_its_windows_do_not_divide():
  model = swin.Swin(patch_size=2, embed_dim=8, depths=(2, 1), num_heads=(1, 2), window=4, num_classes=3)
  logits = jax.jit(lambda x: model.apply(model.init(jax.random.PRNGKey(0), x), x))(IMAGES)
  assert logits.shape == (2, 3) and np.all(np.isfinite(logits))
  with pytest.raises(Exception, match="do not split into 4x4 windows"):
    jax.eval_shape(model.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, 20, 20, 3), jnp.float32))


def test_attention_rollout_matches_numpy_and_reads_layers_in_order():
  layers = [jax.nn.softmax(RNG.standard_normal((2, 3, 5, 5)), axis=-1) for _ in range(3)]
  out = rollout.attention_rollout([jnp.asarray(w) for w in layers])
  np.testing.assert_allclose(out, reference_rollout(layers), rtol=1e-5)
  np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
  sown = {f"layers_{n}": {"attention": {"attention_weights": (layers[i],)}} for i, n in ((2, 10), (1, 2), (0, 0))}
  assert all(w is layer for w, layer in zip(rollout.sown_layers(sown), layers))
  stacked = {"layers": {"attention": {"attention_weights": (np.stack(layers),)}}}
  assert len(rollout.sown_layers(stacked)) == 3


def test_summary_counts_attention_and_every_parameter():
  """ViT-B/16 at 224x224: 17.56 G multiply-adds (timm's fvcore count: 17.58 G), attention's Q K^T and A V
  rows 2 x 197^2 x 768 each layer; the class token and position tables appear as rows of their own."""
  rows = layer_table.layers(vit.ViT_B16(num_classes=1000), (224, 224, 3))
  assert sum(r.params for r in rows) == 86_567_656
  attention = [r for r in rows if r.kind == "MultiHeadAttention"]
  assert len(attention) == 12 and all(r.macs == 2 * 197 * 197 * 768 for r in attention)
  assert sum(r.macs for r in rows) == 17_563_828_224
  assert any(r.path == "(model)" and r.params == 768 + 197 * 768 for r in rows)
  rows = layer_table.layers(swin.SwinT(num_classes=1000), (224, 224, 3))
  assert sum(r.params for r in rows) == 28_288_354
  first = next(r for r in rows if r.kind == "MultiHeadAttention")  # 64 windows of 49 tokens, 96 wide
  assert first.macs == 2 * 64 * 49 * 49 * 96
