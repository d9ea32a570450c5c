"""Vision Transformer (Dosovitskiy et al., 2020) and DeiT's distillation token (Touvron et al., 2021).

An image becomes a sequence of patch embeddings, with a class token (and DeiT's distillation token) in front
and a learned position embedding added; a pre-LayerNorm Transformer encoder (`jaxdl.nn.transformer.Stack`)
reads it, and the head classifies the class token. Parameters laid out as timm's, so counts match.
"""

import functools
from typing import Any, ClassVar

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import PositiveFloat, PositiveInt, Probability
from jaxdl.errors import InputShapeError
from jaxdl.nn.layers import Conv
from jaxdl.nn.transformer import PARTITION_RULES, RematPolicy, Stack
from jaxdl.registry import models


def patchify(images, patch_size: int):
  """(B, H, W, C) -> (B, H/p, W/p, p*p*C): each non-overlapping p x p patch flattened (row, column, channel)."""
  return einops.rearrange(images, "b (h p) (w q) c -> b h w (p q c)", p=patch_size, q=patch_size)


class PatchEmbedding(nn.Module):
  """A p x p convolution with stride p: the same linear map of every flattened patch as `patchify` followed by
  a Dense layer whose kernel is this one's reshaped to (p*p*C, features), at a convolution's speed."""

  patch_size: int
  features: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images):
    _, h, w, _ = images.shape
    if h % self.patch_size or w % self.patch_size:
      raise InputShapeError(f"{h}x{w} images do not split into {self.patch_size}x{self.patch_size} patches")
    p = self.patch_size
    return Conv(self.features, (p, p), strides=p, padding="VALID", dtype=self.dtype, name="proj")(images)


def resize_positions(table, grid: tuple[int, int]):
  """A (h, w, D) grid of position embeddings resized (bicubic) to `grid`: how a ViT trained at one image size
  runs at another (Dosovitskiy et al., section 3.2)."""
  if table.shape[:2] == tuple(grid):
    return table
  return jax.image.resize(table, (*grid, table.shape[-1]), method="bicubic").astype(table.dtype)


class ViT(nn.Module):
  """Patch embedding, [class] (and, with `distilled`, [distillation]) tokens, learned positions, `depth` pre-LN
  blocks, final LayerNorm, linear head on the class token.

  The position table is a (H/p, W/p, width) grid, interpolated when the image size differs from the one the
  model was initialized at. `distilled` (DeiT): a second head reads the distillation token; training returns
  (class logits, [distillation logits]) (the auxiliary-head convention of `jaxdl.tasks.classify`), eval their
  mean, as DeiT predicts at test time. `drop_path`: stochastic
  depth of every block (one rate, so the layers can be one `nn.scan` body).
  """

  patch_size: PositiveInt = 16
  width: PositiveInt = 768
  depth: PositiveInt = 12
  num_heads: PositiveInt = 12
  mlp_ratio: PositiveFloat = 4.0
  num_classes: PositiveInt = 1000
  dropout: Probability = 0.0
  drop_path: Probability = 0.0
  distilled: bool = False
  scan: bool = False  # True: one compiled layer body for all layers (compiles faster, steps slower: Stack)
  remat: RematPolicy = "none"
  dtype: Any = jnp.float32

  partition_rules: ClassVar[tuple] = PARTITION_RULES  # heads and MLP units over --mesh's tensor axis

  @property
  def num_prefix_tokens(self) -> int:
    """Tokens before the patches: [class] (and [distillation]); what attention rollout reads."""
    return 2 if self.distilled else 1

  @nn.compact
  def __call__(self, images, train: bool = False):
    x = PatchEmbedding(self.patch_size, self.width, self.dtype, name="patch_embedding")(images)
    batch, h, w, _ = x.shape                                                 # (B, H/p, W/p, D)
    if self.has_variable("params", "position_embedding"):  # read as stored: its grid may be another size's
      grid = self.get_variable("params", "position_embedding")
    else:
      grid = self.param("position_embedding", nn.initializers.normal(0.02), (h, w, self.width))
    x = x + resize_positions(grid, (h, w)).astype(x.dtype)
    x = x.reshape(batch, h * w, self.width)                                  # (B, N, D)
    names = ("cls_token", "dist_token") if self.distilled else ("cls_token",)
    tokens = jnp.concatenate([self.param(n, nn.initializers.truncated_normal(0.02), (1, 1, self.width))
                              for n in names], axis=1)
    tokens = tokens + self.param("token_position_embedding", nn.initializers.normal(0.02), (len(names), self.width))
    x = jnp.concatenate([jnp.broadcast_to(tokens, (batch, *tokens.shape[1:])).astype(x.dtype), x], axis=1)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)                 # (B, 1 [+1] + N, D)
    block = dict(num_heads=self.num_heads, mlp_ratio=self.mlp_ratio, dropout=self.dropout,
                 drop_path=self.drop_path, pre_norm=True, dtype=self.dtype)
    x, _ = Stack(self.depth, block, self.scan, self.remat, train, name="encoder")(x)
    x = nn.LayerNorm(dtype=self.dtype, name="norm")(x)
    head = lambda name: nn.Dense(self.num_classes, kernel_init=nn.initializers.zeros, dtype=self.dtype,  # noqa: E731
                                 name=name)  # zero-initialized, as in the paper: chance-level initial loss
    logits = head("head")(x[:, 0]).astype(jnp.float32)
    if not self.distilled:
      return logits
    distill = head("head_dist")(x[:, 1]).astype(jnp.float32)
    return (logits, [distill]) if train else (logits + distill) / 2


SIZES = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16)}


def _vit(size: str, patch_size: int, **kwargs):
  width, depth, heads = SIZES[size]
  return functools.partial(ViT, patch_size=patch_size, width=width, depth=depth, num_heads=heads, **kwargs)


ViT_Ti16, ViT_Ti32 = _vit("tiny", 16), _vit("tiny", 32)
ViT_S16, ViT_S32 = _vit("small", 16), _vit("small", 32)
ViT_B16, ViT_B32 = _vit("base", 16), _vit("base", 32)
ViT_L16, ViT_L32 = _vit("large", 16), _vit("large", 32)
DeiT_Ti, DeiT_S, DeiT_B = (_vit(size, 16, distilled=True) for size in ("tiny", "small", "base"))

models.register("vit", ViT)
for _name, _model in {"vit_ti16": ViT_Ti16, "vit_ti32": ViT_Ti32, "vit_s16": ViT_S16, "vit_s32": ViT_S32,
                      "vit_b16": ViT_B16, "vit_b32": ViT_B32, "vit_l16": ViT_L16, "vit_l32": ViT_L32,
                      "deit_ti": DeiT_Ti, "deit_s": DeiT_S, "deit_b": DeiT_B}.items():
  models.register(_name, _model)
