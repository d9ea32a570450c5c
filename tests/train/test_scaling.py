"""--mode=scaling: the power-law fit, and a two-member family trained, fitted and plotted."""

import json

import numpy as np
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.modes import scaling


def test_fit_recovers_an_exact_power_law_and_sizes_parse():
  n = np.array([1e4, 3e4, 1e5, 4e5])
  fit = scaling.fit_power_law(n, (8.8e6 / n) ** 0.076)  # Kaplan et al.'s L(N) for language models
  assert fit["alpha"] == pytest.approx(0.076, rel=1e-6) and fit["n_c"] == pytest.approx(8.8e6, rel=1e-4)
  assert scaling.parse_sizes("32:1, 64:2") == [(32, 1), (64, 2)]
  for bad in ("32:1", "32", "32:0,64:2", "a:b,64:2"):
    with pytest.raises(UsageError, match="--scaling"):
      scaling.parse_sizes(bad)


def test_scaling_mode_trains_each_size_and_writes_the_fit(tmp_path):
  corpus = tmp_path / "corpus.txt"
  rng = np.random.default_rng(0)
  corpus.write_text(" ".join(rng.choice(["to", "be", "or", "not", "that", "is"], size=1500)), encoding="utf-8")
  config = Config(data=f"text:{corpus}", data_args="window=16", model="gpt", model_args="num_heads=2,context=16",
                  task="language_model", batch_size=8, steps=6, log_every=3, eval_every=6, lr=3e-3,
                  mode="scaling", scaling="8:1,16:2")
  text = modes.MODES["scaling"].run(config, str(tmp_path / "run"))
  summary = json.loads((tmp_path / "run" / "summary.json").read_text())["scaling"]
  small, large = summary["members"]
  # Non-embedding parameters: per layer 4 (w^2 + w) attention, 8 w^2 + 5 w MLP, 4 w LayerNorm; a final 2 w.
  assert [small["non_embedding_params"], large["non_embedding_params"]] == [
      d * (12 * w * w + 13 * w) + 2 * w for w, d in ((8, 1), (16, 2))]
  assert (tmp_path / "run" / "members" / "width16_depth2" / "summary.json").exists()
  assert np.isfinite(summary["fit"]["alpha"]) and f"alpha={summary['fit']['alpha']:.4f}" in text
  assert (tmp_path / "run" / "plots" / "scaling.png").read_bytes()[:4] == b"\x89PNG"
