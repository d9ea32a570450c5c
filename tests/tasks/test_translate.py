"""Seq2seq: the generated tasks, attention that ignores padding, teacher forcing against decoding, scheduled
sampling and exact-sequence accuracy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import data, modes
from jaxdl.config import Config
from jaxdl.data.sequences import EOS, FIRST_SYMBOL, PAD
from jaxdl.errors import UsageError
from jaxdl.models.seq2seq import Seq2Seq, decoder_inputs
from jaxdl.models.transformer import Transformer
from jaxdl.tasks.translate import Translate, exact_match
from jaxdl.train import loop

SMALL = "train_size=50,val_size=10,test_size=10"


def _symbols(row, stop=EOS):
  row = list(row)
  return row[:row.index(stop)] if stop in row else [t for t in row if t != PAD]


@pytest.mark.parametrize("name", ["reverse", "sort", "add"])
def test_generated_targets_are_the_task_applied_to_the_source(name):
  ds = data.load(f"synthetic:{name}", SMALL + ("" if name == "add" else ",min_length=2,max_length=9"), seed=3)
  batch = ds.splits["train"].read(np.arange(50))
  for source, n, target in zip(batch["source"], batch["source_length"], batch["target"]):
    src, tgt = list(source[:n]), _symbols(target)
    assert PAD not in src and all(t == PAD for t in source[n:]) and list(target).count(EOS) == 1
    if name == "reverse":
      assert tgt == src[::-1] and 2 <= n <= 9
    elif name == "sort":
      assert tgt == sorted(src)
    else:
      text = "".join("+" if t == FIRST_SYMBOL + 10 else str(t - FIRST_SYMBOL) for t in src)
      assert int("".join(str(t - FIRST_SYMBOL) for t in tgt)) == eval(text)  # noqa: S307 (digits and "+")
  first, again, other = (data.load(f"synthetic:{name}", SMALL, seed=s).splits["train"].read(np.arange(5))["source"]
                         for s in (3, 3, 4))
  assert (first == again).all() and not (first == other).all()  # drawn from the seed


def test_exact_match_ignores_what_follows_the_targets_eos():
  target = jnp.asarray([[5, 6, EOS, PAD], [5, 6, EOS, PAD], [5, 6, EOS, PAD]])
  predicted = jnp.asarray([[5, 6, EOS, 9], [5, 6, 7, EOS], [5, 7, EOS, PAD]])
  np.testing.assert_array_equal(exact_match(predicted, target), [1.0, 0.0, 0.0])


def _batch():
  ds = data.load("synthetic:reverse", SMALL + ",max_length=7", seed=0)
  return {k: jnp.asarray(v) for k, v in ds.splits["train"].read(np.arange(6)).items()}, ds.num_classes


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_attention_gives_padding_no_weight_and_padding_changes_nothing(attention):
  batch, vocab = _batch()
  model = Seq2Seq(num_classes=vocab, embed=8, hidden=16, attention=attention)
  inputs = decoder_inputs(batch["target"])
  params = jax.jit(model.init)(jax.random.PRNGKey(0), batch["source"], batch["source_length"], inputs)
  apply = jax.jit(model.apply)
  logits, weights = apply(params, batch["source"], batch["source_length"], inputs)
  real = np.arange(batch["source"].shape[1]) < np.asarray(batch["source_length"])[:, None]
  assert (np.asarray(weights)[~np.broadcast_to(real[:, None], weights.shape)] == 0).all()
  np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
  noisy = jnp.where(real, batch["source"], 7)  # other symbols where the source is padding
  np.testing.assert_allclose(apply(params, noisy, batch["source_length"], inputs)[0], logits, rtol=1e-5, atol=1e-6)


def _model(name, vocab):
  if name == "seq2seq":
    return Seq2Seq(num_classes=vocab, embed=8, hidden=16)
  return Transformer(num_classes=vocab, num_layers=2, num_heads=2, width=16, max_length=16)


def test_transformer_teacher_forced_pass_equals_its_cached_steps_and_ignores_padding():
  """The whole target in one causal pass gives the logits that feeding it token by token through the KV cache
  gives; source symbols beyond each length change nothing."""
  batch, vocab = _batch()
  model = _model("transformer", vocab)
  inputs = decoder_inputs(batch["target"])
  params = jax.jit(model.init)(jax.random.PRNGKey(0), batch["source"], batch["source_length"], inputs)
  apply = jax.jit(model.apply)
  parallel, weights = apply(params, batch["source"], batch["source_length"], inputs)
  stepped, _ = apply(params, batch["source"], batch["source_length"], inputs, jnp.ones(inputs.shape, bool))
  assert weights is None
  np.testing.assert_allclose(stepped, parallel, rtol=1e-5, atol=1e-5)
  real = np.arange(batch["source"].shape[1]) < np.asarray(batch["source_length"])[:, None]
  noisy = jnp.where(real, batch["source"], 7)
  np.testing.assert_allclose(apply(params, noisy, batch["source_length"], inputs)[0], parallel, rtol=1e-5,
                             atol=1e-5)


@pytest.mark.parametrize("name", ["seq2seq", "transformer"])
def test_without_teacher_forcing_training_feeds_back_what_greedy_decoding_emits(name):
  """With the teacher-forcing ratio at 0, each training step reads the model's previous most likely token:
  the tokens it scores best are exactly greedy decoding's (jaxdl.decode through `decode_step`)."""
  batch, vocab = _batch()
  task = Translate(_model(name, vocab), vocab, teacher_forcing=0.0)
  params = jax.jit(task.init)(jax.random.PRNGKey(0), batch)["params"]  # (eagerly, each op would compile alone)
  target = batch["target"]
  free = jnp.zeros(target.shape, bool).at[:, 0].set(True)
  logits, _ = jax.jit(task.model.apply)({"params": params}, batch["source"], batch["source_length"],
                                        decoder_inputs(target), free)
  greedy = jax.jit(task.predict, static_argnums=2)(params, batch, target.shape[1])
  np.testing.assert_array_equal(logits.argmax(-1), greedy)


def test_scheduled_sampling_lowers_the_teacher_forcing_ratio_linearly():
  task = Translate(None, 13, teacher_forcing=0.25, sampling_decay_steps=100)
  ratios = [float(task._ratio({"progress": {"step": jnp.float32(s)}})) for s in (0, 50, 100, 400)]
  np.testing.assert_allclose(ratios, [1.0, 0.625, 0.25, 0.25])
  assert Translate(None, 13, teacher_forcing=0.5)._ratio({}) == 0.5


def test_attention_maps_and_sample_modes_read_the_best_checkpoint(tmp_path):
  """One short run: eval reports corpus BLEU beside exact match; `--mode=attention_maps` draws a PNG and
  `--mode=sample` prints the beam-searched outputs of the first test sources in the run's symbol names."""
  config = Config(data="synthetic:reverse", data_args="max_length=6,train_size=256,val_size=32,test_size=32",
                  model="seq2seq", model_args="embed=8,hidden=16", task="translate", batch_size=32, steps=4,
                  log_every=2, beam=2)
  final = loop.train_and_evaluate(config, str(tmp_path))["final"]
  assert 0 <= final["test_bleu"] <= 1 and not any(k.startswith("test_bleu_") for k in final)
  assert "attention_maps.png" in modes.MODES["attention_maps"].run(config, str(tmp_path))
  assert (tmp_path / "plots" / "attention_maps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  lines = modes.MODES["sample"].run(config, str(tmp_path)).splitlines()
  test = data.load(config.data, config.data_args, config.seed).splits["test"].read(np.arange(8))
  assert len(lines) == 9 and lines[-1].startswith("beam 2: BLEU-4 ")
  for line, source, n, target in zip(lines, test["source"], test["source_length"], test["target"]):
    assert line.startswith(" ".join(str(t - FIRST_SYMBOL) for t in source[:n]) + " -> ")
    assert line.endswith(f"(target: {' '.join(str(t - FIRST_SYMBOL) for t in _symbols(target))})")
  with pytest.raises(UsageError, match="task 'masked_lm' has no attention to draw"):
    modes.check_needs("attention_maps", "masked_lm")
