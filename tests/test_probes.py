"""--mode=knn_eval, --mode=hessian and --mode=attack on a small trained MLP run."""

import json

import numpy as np
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.probes import KNN_CANDIDATES
from jaxdl.train import loop


def test_knn_eval_and_hessian_read_a_trained_classifiers_best_checkpoint(tmp_path):
  config = Config(data="digits", model="mlp", model_args="depth=1,width=32", lr=5e-3, batch_size=64, steps=40,
                  eval_every=40)
  loop.train_and_evaluate(config, str(tmp_path))
  assert "chosen by 5-fold cross-validation on train" in modes.MODES["knn_eval"].run(config, str(tmp_path))
  report = json.loads((tmp_path / "knn.json").read_text())
  assert (report["k"], report["metric"]) in KNN_CANDIDATES and report["features"] == 32
  assert report["cross_validation"][f"{report['k']}/{report['metric']}"] == max(report["cross_validation"].values())
  assert report["test_accuracy"] > 0.9
  assert "condition number" in modes.MODES["hessian"].run(config, str(tmp_path))
  curvature = json.loads((tmp_path / "hessian.json").read_text())
  ritz = np.array(curvature["ritz_values"])
  assert np.all(np.diff(ritz) >= 0) and curvature["largest"] == ritz[-1] > 0
  assert (tmp_path / "plots" / "hessian.png").read_bytes()[:4] == b"\x89PNG"
  assert "epsilon 0.2: fgsm" in modes.MODES["attack"].run(config, str(tmp_path))
  summary = json.loads((tmp_path / "summary.json").read_text())
  attacked = summary["attack"]["accuracy"]
  clean = attacked["fgsm"][0]
  assert summary["attack"]["epsilons"][0] == 0 and attacked["pgd"][0] == clean > 0.9  # epsilon 0 moves nothing
  assert attacked["fgsm"][-1] < clean and attacked["pgd"][-1] < clean and "final" in summary
  assert (tmp_path / "plots" / "attack.png").read_bytes()[:4] == b"\x89PNG"
  with pytest.raises(UsageError, match="reads an image classifier's run"):
    modes.MODES["hessian"].run(Config(data="digits", model="dcgan", task="gan", steps=1), str(tmp_path / "none"))
