"""Every registered model: pinned parameter counts (jax.eval_shape), shapes and finite outputs;
the small models' forward passes against NumPy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl.models  # noqa: F401
from jaxdl import args
from jaxdl.errors import InputShapeError
from jaxdl.models import fractalnet, inception, lenet, mlp
from jaxdl.models.gpt import train_flops_per_token
from jaxdl.nn import matmul_conv
from jaxdl.registry import models
from tests.reference import layers as ref
from tests.reference.parameter_counts import PINNED


def params_of(model, side, channels):
  x = jax.ShapeDtypeStruct((1, side, side, channels), jnp.float32)
  return jax.eval_shape(model.init, jax.random.PRNGKey(0), x)["params"]


def count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


# Sequence models: name -> (model_args, inputs, parameter count by the formula in the comment); vocabulary 50.
E, H, VOCAB = 16, 32, 50
TOKENS = jax.ShapeDtypeStruct((2, 7), jnp.int32)
LSTM = lambda inputs: 4 * (inputs * H + H * H + H)  # noqa: E731  (4 gates)
SEQUENCE = {
    # embedding; two LSTM layers; head
    "rnn_lm": (f"embed={E},hidden={H},num_layers=2", (TOKENS,),
               VOCAB * E + LSTM(E) + LSTM(H) + H * VOCAB + VOCAB),
    # two embeddings; encoder LSTM; decoder LSTM fed [embedding, context]; additive attention (W_m, W_q + b,
    # v); the [h, context] -> h combination; head
    "seq2seq": (f"embed={E},hidden={H},attention=additive",
                (TOKENS, jax.ShapeDtypeStruct((2,), jnp.int32), jax.ShapeDtypeStruct((2, 5), jnp.int32)),
                2 * VOCAB * E + LSTM(E) + LSTM(E + H) + (H * H + H * H + H + H) + 2 * H * H + H + H * VOCAB + VOCAB),
    # three 3x3 convs (8, 16, 32 channels, biased); initial c and h from the mean feature; the same decoder with
    # a 32-channel memory: embedding, LSTM fed [embedding, context], attention, combination, head
    "captioner": ("width=8,embed=16,hidden=32,attention=additive",
                  (jax.ShapeDtypeStruct((2, 16, 16, 3), jnp.float32), jax.ShapeDtypeStruct((2, 6), jnp.int32)),
                  (27 * 8 + 8) + (72 * 16 + 16) + (144 * 32 + 32) + 2 * (32 * H + H) + VOCAB * E + LSTM(E + 32)
                  + (32 * H + H * H + H + H) + (H + 32) * H + H + H * VOCAB + VOCAB),
    # token embedding (tied to the head) and 8 learned positions; per layer two LayerNorms, q/k/v/out projections
    # with biases and the 4x MLP; the final LayerNorm
    "gpt": ("num_layers=2,num_heads=2,width=16,context=8", (TOKENS,),
            VOCAB * E + 8 * E + 2 * (2 * 2 * E + 4 * (E * E + E) + (E * 4 * E + 4 * E) + (4 * E * E + E)) + 2 * E),
    # token embedding with the [MASK] row, 8 positions, embedding LayerNorm; per layer the same block as GPT's;
    # the masked-LM head: dense, LayerNorm, the tied output's bias
    "bert": ("num_layers=2,num_heads=2,width=16,context=8", (TOKENS,),
             (VOCAB + 1) * E + 8 * E + 2 * E + 2 * (2 * 2 * E + 4 * (E * E + E) + (E * 4 * E + 4 * E) + (4 * E * E + E))
             + (E * E + E) + 2 * E + VOCAB),
    # the shared (tied) embedding; two encoder blocks; two decoder blocks with cross-attention (3 LayerNorms);
    # the LayerNorms after each stack
    "transformer": ("num_layers=2,num_heads=2,width=16,max_length=8",
                    (TOKENS, jax.ShapeDtypeStruct((2,), jnp.int32), jax.ShapeDtypeStruct((2, 5), jnp.int32)),
                    VOCAB * E + 2 * (4 * E + 4 * (E * E + E) + 8 * E * E + 5 * E)
                    + 2 * (6 * E + 8 * (E * E + E) + 8 * E * E + 5 * E) + 4 * E),
}


# Denoisers (x, t, labels) -> eps: name -> (model_args, image side, channels, classes, parameter count).
D = 384  # DiT-S/2 on 32x32x4 latents with 1,000 classes: patch embedding, 256-frequency step MLP, labels and the
# null label, 12 blocks (attention, 4x MLP, adaLN's six modulations), final adaLN and head (no learned sigma).
DENOISERS = {
    # Ho et al.'s CIFAR-10 U-Net (channels 128, x(1,2,2,2), 2 blocks, attention at 16x16): 35,746,307, the
    # count of the released ddpm-cifar10-32 weights
    "unet": ("channels=128,multipliers=(1,2,2,2),attention_levels=(1,)", 32, 3, 10, 35_746_307, False),
    "dit": ("patch_size=2,width=384,depth=12,num_heads=6", 32, 4, 1000,
            (4 * 4 * D + D) + (256 * D + D + D * D + D) + 1001 * D
            + 12 * (4 * (D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D) + (D * 6 * D + 6 * D))
            + (D * 2 * D + 2 * D) + (D * 16 + 16), True),
}


# Image models of one input without classes: name -> (model_args, input side, parameter count by the formula).
F = 64
IMAGE_MODELS = {
    # encoder 64-256-128-16 and its mirror; the variational encoder's last layer gives mean and log-variance
    "autoencoder": ("hidden=(256,128),latent=16,variational=true", 8,
                    (64 * 256 + 256) + (256 * 128 + 128) + (128 * 32 + 32)
                    + (16 * 128 + 128) + (128 * 256 + 256) + (256 * 64 + 64)),
    # type-A 7x7 conv, 4 residual blocks (1x1 down to F/2, masked 3x3, 1x1 back up), two 1x1 head layers (masks
    # zero weights but keep them)
    "pixelcnn": (f"features={F},blocks=4,first_kernel=7", 8,
                 (49 * F + F) + 4 * ((F * F // 2 + F // 2) + (9 * (F // 2) ** 2 + F // 2) + (F // 2 * F + F))
                 + (F * F + F) + (F + 1)),
    # 4 checkerboard couplings on 1 channel and 4 channel couplings on the 4 squeezed ones, each a 3x3 conv to
    # `hidden`, a 1x1, a 3x3 conv to 2 x channels (s and t) and a scale per channel
    "realnvp": ("checkerboard_layers=4,channel_layers=4,hidden=64", 8,
                4 * ((9 * 1 * 64 + 64) + (64 * 64 + 64) + (9 * 64 * 2 + 2) + 1)
                + 4 * ((9 * 4 * 64 + 64) + (64 * 64 + 64) + (9 * 64 * 8 + 8) + 4)),
}


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_image_model_parameter_count_and_output_shape(name):
  model_args, side, expected = IMAGE_MODELS[name]
  cls = models.get(name)
  model = cls(**args.parse(model_args, cls, "model_args"))
  x = jax.ShapeDtypeStruct((2, side, side, 1), jnp.float32)
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
  assert count(variables["params"]) == expected
  out = jax.eval_shape(model.apply, variables, x)
  assert (out[0] if isinstance(out, tuple) else out).shape == x.shape  # a flow's (z, log_det)


def test_conditional_dcgan_parameter_count_at_8x8():
  """Generator: noise + one-hot label -> 2x2x128 map, two 4x4 up-convolutions (128 -> 64 -> 1); discriminator:
  image + 10 label channels -> two 4x4 stride-2 convolutions (11 -> 64 -> 128) -> one logit from 2x2x128."""
  model = models.get("dcgan")(latent=64, features=64, num_classes=10)
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32),
                             jax.ShapeDtypeStruct((2, 64), jnp.float32), jax.ShapeDtypeStruct((2,), jnp.int32))
  generator = (74 * 512 + 512) + (16 * 128 * 64 + 64) + (16 * 64 * 1 + 1)
  discriminator = (16 * 11 * 64 + 64) + (16 * 64 * 128 + 128) + (512 + 1)
  assert count(variables["params"]["generator"]) == generator
  assert count(variables["params"]["discriminator"]) == discriminator


def test_the_noise_aware_classifier_is_the_unets_encoder_half_and_a_linear_head():
  """Dhariwal & Nichol's classifier: the U-Net's stem, contracting blocks and middle, the same layers with the
  same shapes, then a GroupNorm and a Dense to the classes (no label input, no expanding half)."""
  settings = dict(channels=32, multipliers=(1, 2), blocks=2, attention_levels=(1,), num_classes=10)
  x, t = jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32), jax.ShapeDtypeStruct((2,), jnp.int32)
  unet = jax.eval_shape(models.get("unet")(**settings).init, jax.random.PRNGKey(0), x, t)["params"]
  classifier_model = models.get("unet_classifier")(**settings)
  classifier = jax.eval_shape(classifier_model.init, jax.random.PRNGKey(0), x, t)["params"]
  encoder = {name for name in unet if not name.startswith(("up", "head", "GroupNorm"))}
  assert set(classifier) == encoder | {"GroupNorm_0", "head"}
  chex.assert_trees_all_equal_shapes({name: unet[name] for name in encoder},
                                    {name: classifier[name] for name in encoder})
  assert classifier["head"]["kernel"].shape == (64, 10)
  assert jax.eval_shape(classifier_model.apply, {"params": classifier}, x, t).shape == (2, 10)


def test_gpt2_small_has_gpt2s_parameter_count_and_training_flops():
  """GPT-2 small (12 layers, 12 heads, width 768, context 1024, vocabulary 50,257, tied head): 124,439,808
  parameters. bench/gpt_mfu.py's FLOPs per token: 6 per parameter outside the 1024 x 768 position table plus
  12 x layers x width x context for attention."""
  model = models.get("gpt")(num_classes=50_257, num_layers=12, num_heads=12, width=768, context=1024)
  params = count(jax.eval_shape(model.init, jax.random.PRNGKey(0), TOKENS)["params"])
  assert params == 124_439_808
  assert train_flops_per_token(model, params) == 6 * (124_439_808 - 1024 * 768) + 12 * 12 * 768 * 1024 == 855_166_464


def test_every_registered_model_is_pinned():
  assert sorted([*PINNED, *SEQUENCE, *DENOISERS, *IMAGE_MODELS, "dcgan", "unet_classifier"]) == models.names()


@pytest.mark.parametrize("name", sorted(SEQUENCE))
def test_sequence_model_parameter_count_and_output_shape(name):
  model_args, inputs, expected = SEQUENCE[name]
  cls = models.get(name)
  model = cls(num_classes=VOCAB, **args.parse(model_args, cls, "model_args"))
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), *inputs)
  assert count(variables["params"]) == expected
  out = jax.eval_shape(model.apply, variables, *inputs)
  logits = out[0] if isinstance(out, tuple) else out  # (logits, carry or attention), or logits alone
  assert logits.shape == (*inputs[-1].shape, VOCAB)


@pytest.mark.parametrize("name", sorted(DENOISERS))
def test_denoiser_parameter_count_and_output_shape(name):
  model_args, side, channels, classes, expected, labelled = DENOISERS[name]
  cls = models.get(name)
  model = cls(num_classes=classes, **args.parse(model_args, cls, "model_args"))
  x = jax.ShapeDtypeStruct((2, side, side, channels), jnp.float32)
  inputs = (x, jax.ShapeDtypeStruct((2,), jnp.int32), jax.ShapeDtypeStruct((2,), jnp.int32) if labelled else None)
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), *inputs)
  assert count(variables["params"]) == expected
  assert jax.eval_shape(model.apply, variables, *inputs).shape == x.shape


@pytest.mark.parametrize("name", [n for n, p in PINNED.items() if p[3] is not None])
def test_parameter_count_and_output_shape(name):
  """Traced (eval_shape) at the pinned size: the parameter count, and eval-mode logits of (1, classes)."""
  side, channels, classes, expected = PINNED[name]
  model = models.get(name)(num_classes=classes)
  x = jax.ShapeDtypeStruct((1, side, side, channels), jnp.float32)
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
  assert count(variables["params"]) == expected
  assert jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables, x).shape == (1, classes)


def test_googlenet_without_auxiliary_heads():
  assert count(params_of(inception.GoogLeNet(num_classes=1000, aux_logits=False), 224, 3)) == 6_624_904


def test_fractal_block_has_2_to_the_c_minus_1_convs():
  for columns in (1, 2, 3, 4):
    params = params_of(fractalnet.FractalNet(columns=columns, widths=(8,)), 16, 3)
    convs = [k for k in params["FractalBlock_0"] if k.startswith("ConvNormAct")]
    assert len(convs) == 2 ** columns - 1


# Small configurations of every family for real forward passes on 16x16 (the full-size ones
# compile for minutes on 2 cores: `make test-all` runs them).
SMALL = {
    "alexnet": "stem=small,hidden=64", "vgg11_bn": "stem=small", "resnet18": "stem=small,width=8",
    "resnet50": "stem=small,width=8,stage_sizes=(1,1,1,1)", "resnext50_32x4d": "stem=small,stage_sizes=(1,1,1,1)",
    "wrn28_10": "depth=10,widen=1", "densenet121": "stem=small,block_sizes=(2,2),growth=8",
    "googlenet": "stem=small", "fractalnet": "columns=2,widths=(8,16)", "speedrun": "widths=(8,16)",
}


def filled_like(shapes):
  """Variables of the shapes `init` declares, drawn in NumPy at He scale (running variances positive).

  Tracing init (eval_shape) checks its shapes without compiling it: compiling the initializers of a
  whole network costs more than its forward pass (GoogLeNet: 16 s of 20). Real initialization is
  compiled by every training test and by the full-size forwards of `make test-all`.
  """
  rng = np.random.default_rng(0)

  def fill(path, s):
    if path[-1].key == "var":
      return jnp.asarray(rng.uniform(0.5, 1.5, s.shape), s.dtype)
    fan_in = int(np.prod(s.shape[:-1])) if len(s.shape) > 1 else 1
    return jnp.asarray(rng.normal(0, np.sqrt(2 / fan_in), s.shape), s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


def forward(name, model_args, side=32, channels=3):
  """Train- and eval-mode forward passes on lax's convolution: the structure is under test here, and im2col's
  graph compiles 0.3 s slower per layer (GoogLeNet: 9 s). `test_a_network_on_matmul_convolutions_...` below
  and tests/nn/test_matmul_conv.py pin the matmul convolutions against lax."""
  cls = models.get(name)
  model = cls(num_classes=10, **args.parse(model_args, cls, "model_args"))
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(2, side, side, channels)), jnp.float32)
  variables = filled_like(jax.eval_shape(model.init, jax.random.PRNGKey(0), x))

  @jax.jit  # one compilation for both modes
  def train_and_eval(v, x):
    train = model.apply(v, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)}, mutable=list(set(v) - {"params"}))
    return train, model.apply(v, x, train=False)

  with matmul_conv.use("lax"):
    (out, new_state), eval_logits = train_and_eval(variables, x)
  logits, aux = out if isinstance(out, tuple) else (out, [])
  # GoogLeNet's auxiliary heads and DeiT's distillation head, in training only
  assert len(aux) == {"googlenet": 2, "deit_ti": 1, "deit_s": 1, "deit_b": 1}.get(name, 0)
  chex.assert_shape([logits, *aux, eval_logits], (2, 10))
  chex.assert_tree_all_finite((logits, aux, eval_logits))
  return variables, new_state


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_configuration_forward(name):
  variables, new_state = forward(name, SMALL[name], side=32 if name.startswith("vgg") else 16)
  if "batch_stats" in variables:  # training updated the running statistics
    assert not all(jax.tree.leaves(jax.tree.map(np.allclose, new_state["batch_stats"], variables["batch_stats"])))


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PINNED if PINNED[n][0] != 224])
def test_full_size_forward_small_inputs(name):
  side, channels, _, _ = PINNED[name]
  forward(name, "", side, channels)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PINNED if PINNED[n][0] == 224])
def test_full_size_forward_small_stem(name):
  """32x32 (small stems; ViTs of 4 or 1 patches), but 224x224 for Swin, whose 7x7 windows need it."""
  forward(name, "stem=small" if "stem" in args.parameters(models.get(name)) else "",
          side=224 if name.startswith("swin") else 32)


def test_a_network_on_matmul_convolutions_has_the_loss_and_gradients_of_lax(monkeypatch):
  """A ResNet whose layers `--conv_impl=matmul` runs in all three formulations (lax, mixed, im2col): the
  training loss and every parameter's gradient equal lax's."""
  model = models.get("resnet18")(num_classes=10, stem="small", width=16, stage_sizes=(1, 1))
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(8, 32, 32, 3)), jnp.float32)
  variables = filled_like(jax.eval_shape(model.init, jax.random.PRNGKey(0), x))
  picked = []
  pick = matmul_conv.formulation
  monkeypatch.setattr(matmul_conv, "formulation", lambda *a: picked.append(pick(*a)) or picked[-1])

  def loss(params):
    logits, _ = model.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"])
    return jnp.mean(jax.nn.log_softmax(logits)[:, 0])

  results = {}
  for impl in ("matmul", "lax"):
    with matmul_conv.use(impl):
      results[impl] = jax.jit(jax.value_and_grad(loss))(variables["params"])
  assert set(picked) == {"lax", "mixed", "im2col"}
  chex.assert_trees_all_close(results["matmul"], results["lax"], rtol=1e-5, atol=1e-6)


def _np(tree):
  return jax.tree.map(lambda x: np.asarray(x, np.float64), tree)


X32 = np.random.default_rng(1).uniform(size=(3, 32, 32, 1)).astype(np.float32)


@pytest.mark.parametrize("activation,pool", [("tanh", "avg"), ("relu", "max")])
def test_lenet5_matches_numpy(activation, pool):
  model = lenet.LeNet5(activation=activation, pool=pool)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), X32)["params"]
  want = ref.lenet5(X32.astype(np.float64), _np(params), activation=np.tanh if activation == "tanh" else ref.relu,
                    pool=np.mean if pool == "avg" else np.max)
  chex.assert_trees_all_close(np.asarray(jax.jit(model.apply)({"params": params}, X32)), want, rtol=1e-4, atol=1e-5)


def test_lenet_modern_matches_numpy():
  x = X32[:, :28, :28]
  model = lenet.LeNetModern()
  params = jax.jit(model.init)(jax.random.PRNGKey(0), x)["params"]
  chex.assert_trees_all_close(np.asarray(jax.jit(model.apply)({"params": params}, x)),
                              ref.lenet_modern(x.astype(np.float64), _np(params)), rtol=1e-4, atol=1e-5)


def test_mlp_matches_numpy_and_dropout_is_off_in_eval():
  x = X32[:, :8, :8]
  model = mlp.MLP(depth=3, width=32, dropout=0.5)
  params = model.init(jax.random.PRNGKey(0), x)["params"]
  eval_out = model.apply({"params": params}, x, train=False)
  chex.assert_trees_all_close(np.asarray(eval_out), ref.mlp(x.astype(np.float64), _np(params), depth=3),
                              rtol=1e-4, atol=1e-5)
  train_out = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
  assert not np.allclose(train_out, eval_out)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "maxout", "abs"])
def test_mlp_activation_and_initializer_are_settable(activation):
  x = X32[:, :8, :8]
  model = mlp.MLP(depth=1, width=16, activation=activation, initializer="xavier_uniform")
  chex.assert_shape(model.apply(model.init(jax.random.PRNGKey(0), x), x), (3, 10))


def test_lenet5_refuses_other_image_sizes():
  with pytest.raises(InputShapeError, match="32x32.*28x28"):
    lenet.LeNet5().init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))


def test_speedrun_first_conv_whitens_its_init_batch_and_stays_fixed():
  from jaxdl.models.speedrun import SpeedrunNet, whitening_filters
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(64, 16, 16, 3)), jnp.float32)
  kernel = whitening_filters(x)
  chex.assert_shape(kernel, (2, 2, 3, 24))
  out = jax.lax.conv_general_dilated(x, kernel[..., :12], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
  cov = np.cov(np.asarray(out).reshape(-1, 12).T)
  np.testing.assert_allclose(cov, np.eye(12), atol=0.02)  # whitened (up to the eps regularizer)
  variables = SpeedrunNet(widths=(8,)).init(jax.random.PRNGKey(0), x)
  assert "whiten" in variables["constants"] and "whiten" not in variables["params"]  # not trained


@pytest.mark.parametrize("public_name", ["alexnet.AlexNet", "vgg.VGG11", "vgg.VGG13", "vgg.VGG16", "vgg.VGG19",
                                         "inception.GoogLeNet", "resnet.ResNet18", "resnet.ResNet34",
                                         "resnet.ResNet50", "resnet.ResNet101", "resnet.ResNet152",
                                         "resnet.WideResNet50_2", "resnet.ResNeXt50_32x4d", "densenet.DenseNet121",
                                         "fractalnet.FractalNet", "vit.ViT_B16", "vit.DeiT_S", "swin.SwinT"])
def test_public_names_are_the_registered_models(public_name):
  """`jaxdl.models.<family>.<Name>` is what `--model` builds, so the 224x224 checks above cover it."""
  import importlib
  module, name = public_name.split(".")
  public = getattr(importlib.import_module(f"jaxdl.models.{module}"), name)
  assert any(models.get(n) is public for n in models.names())
  assert "num_classes" in args.parameters(public)
