"""The language_model task: truncated BPTT against full BPTT, clipping on by default for recurrent models,
exact resume of the carried state, and --mode=sample."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.models.rnn_lm import RNNLanguageModel
from jaxdl.tasks.language_model import LanguageModel
from jaxdl.train import loop, setup

V = 12
KEY = jax.random.PRNGKey(0)  # dropout's key; these models have no dropout
TOKENS = jnp.asarray(np.random.default_rng(0).integers(1, V, size=(4, 25)), jnp.int32)


def _task(stateful, cell="lstm"):
  return LanguageModel(RNNLanguageModel(num_classes=V, cell=cell, embed=8, hidden=16), V, stateful=stateful)


def _loss_and_grad(task):
  """(params, carry, tokens) -> (loss, carry after the window, gradient w.r.t. params), jitted."""
  def loss(p, c, t):
    value, (_, state) = task.loss_fn(p, {"carry": c} if task.stateful else {}, {"tokens": t}, KEY)
    return value, state.get("carry")
  fn = jax.jit(jax.value_and_grad(loss, has_aux=True))

  def run(params, carry, tokens):
    (value, carry), grads = fn(params, carry, tokens)
    return value, carry, grads

  return run


def test_one_window_over_the_whole_sequence_is_full_bptt_and_shorter_windows_truncate():
  stateful, plain = _task(True), _task(False)
  variables = stateful.init(jax.random.PRNGKey(0), {"tokens": TOKENS})
  params, zeros = variables["params"], variables["carry"]
  window = _loss_and_grad(stateful)
  full_loss, _, full = _loss_and_grad(plain)(params, None, TOKENS)  # backpropagation through all 24 steps
  jax.tree.map(np.testing.assert_array_equal, window(params, zeros, TOKENS)[2], full)
  # Two windows of 12: the second starts from the first's carry, so the forward pass is the full one ...
  first_loss, carry, first = window(params, zeros, TOKENS[:, :13])
  second_loss, _, second = window(params, carry, TOKENS[:, 12:])
  np.testing.assert_allclose((first_loss + second_loss) / 2, full_loss, rtol=1e-6)
  # ... but no gradient crosses the window border: the mean of the windows' gradients is not the full one.
  truncated = jax.tree.map(lambda a, b: (a + b) / 2, first, second)
  assert not all(jax.tree.leaves(jax.tree.map(lambda a, b: np.allclose(a, b, atol=1e-7), truncated, full)))


def test_exploding_gradients_are_clipped_by_default_for_recurrent_models():
  """An Elman RNN whose recurrent weights have spectral norm 4: the gradient norm grows with the sequence.
  `--clip_norm` left at its default clips rnn_lm's updates to global norm 1 (times the SGD rate)."""
  task = _task(False, cell="rnn")
  params = task.init(jax.random.PRNGKey(0), {"tokens": TOKENS})["params"]
  params = jax.tree_util.tree_map_with_path(
      lambda path, p: 4.0 * p if "h" == getattr(path[-2], "key", None) else p, params)  # W_hh: 4 x orthogonal
  grads = _loss_and_grad(task)(params, None, TOKENS)[2]
  assert optax.global_norm(grads) > 100
  config = Config(model="rnn_lm", task="language_model", optim="sgd", lr=0.1, steps=10)
  for clip, bound in ((config.clip_norm, 0.1 + 1e-6), (0.0, None)):
    tx = setup.build_optimizer(dataclasses.replace(config, clip_norm=clip))
    updates, _ = tx.update(grads, tx.init(params), params)
    norm = float(optax.global_norm(updates))
    assert norm <= bound if bound else norm > 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  path = tmp_path_factory.mktemp("text") / "corpus.txt"
  rng = np.random.default_rng(0)
  path.write_text(" ".join(rng.choice(["to", "be", "or", "not", "that", "is", "the", "question"], size=1500)))
  return str(path)


def _config(corpus, steps, **kw):
  return Config(data=f"text:{corpus}", data_args="window=32", model="rnn_lm", model_args="embed=8,hidden=32",
                task="language_model", batch_size=8, steps=steps, log_every=4, checkpoint_every=4, lr=0.01, **kw)


def test_carried_state_resumes_exactly_and_samples_continue_the_prompt(corpus, tmp_path):
  """A stateful run continued from its step-4 checkpoint ends bit-identical to one run straight to step 8;
  `--mode=sample` then continues a prompt from its best checkpoint, decoding with the run's vocab.json, and never
  draws the unknown id; a prompt with characters the training text never had is refused, naming them."""
  config = _config(corpus, 8, task_args="stateful=true")
  straight = loop.train_and_evaluate(config, str(tmp_path / "a"))
  loop.train_and_evaluate(_config(corpus, 4, task_args="stateful=true"), str(tmp_path / "b"))
  resumed = loop.train_and_evaluate(config, str(tmp_path / "b"))
  assert resumed["steps_run"] == 4
  assert resumed["params_fingerprint"] == straight["params_fingerprint"]
  assert resumed["final"] == straight["final"]
  assert (tmp_path / "b" / "vocab.json").exists()
  options = dict(prompt="to be", sample_length=40, top_k=0, temperature=2.0)  # hot: every id has its chance
  text = modes.MODES["sample"].run(dataclasses.replace(config, **options), str(tmp_path / "b"))
  assert text.startswith("to be") and len(text) == len("to be") + 40 and "\ufffd" not in text
  with pytest.raises(UsageError, match="--prompt has characters the training text never had: 'éß'"):
    modes.MODES["sample"].run(dataclasses.replace(config, prompt="to bé ßé"), str(tmp_path / "b"))


def test_a_gpt_samples_past_its_context_by_sliding_it(corpus, tmp_path):
  """`--sample_length` past the context: the window slides (each further token drawn from a cache refilled with the
  last context - 1 tokens), and the first context tokens are those of one cached pass."""
  config = Config(data=f"text:{corpus}", data_args="window=16", model="gpt",
                  model_args="num_layers=1,num_heads=2,width=16,context=16", task="language_model", batch_size=8,
                  steps=4, log_every=2, checkpoint_every=4)
  loop.train_and_evaluate(config, str(tmp_path))

  def sample(length):
    return modes.MODES["sample"].run(dataclasses.replace(config, prompt="to be", sample_length=length,
                                                         temperature=1.5), str(tmp_path))

  one_pass, slid = sample(16 - len("to be")), sample(40)
  assert len(slid) == len("to be") + 40 and slid.startswith(one_pass) and "\ufffd" not in slid
  with pytest.raises(UsageError, match="fills the model's context of 16 tokens"):
    modes.MODES["sample"].run(dataclasses.replace(config, prompt="to be or not to be"), str(tmp_path))
