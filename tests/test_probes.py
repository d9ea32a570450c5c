"""--mode=knn_eval, hessian, attack and explain on one small trained ResNet run (a conv stage average-pooled into a
linear head: what CAM needs)."""

import json

import numpy as np
import pytest

from jaxdl import modes
from jaxdl.modes import probes
from jaxdl.analysis.knn import KS, METRICS
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop

pytestmark = pytest.mark.xdist_group("probes")  # one worker trains the run once
CONFIG = Config(data="digits", data_args="image_size=8", model="resnet18",
                model_args="stage_sizes=(1,),width=16,stem=small", lr=5e-3, batch_size=64, steps=100, eval_every=100)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("probes"))
  loop.train_and_evaluate(CONFIG, workdir)
  return workdir


def test_knn_eval_hessian_and_attack_read_a_trained_classifiers_best_checkpoint(trained):
  assert "chosen by 5-fold cross-validation on train" in modes.MODES["knn_eval"].run(CONFIG, trained)
  report = json.loads(open(f"{trained}/knn.json").read())
  assert report["k"] in KS and report["metric"] in METRICS and report["features"] == 16
  assert report["cross_validation"][f"{report['k']}/{report['metric']}"] == max(report["cross_validation"].values())
  assert report["test_accuracy"] > 0.8
  assert modes.MODES["hessian"].run is probes.hessian and modes.MODES["attack"].run is probes.attack
  assert "condition number" in probes.hessian(CONFIG, trained, examples=128, iterations=12)  # (defaults: 512, 30)
  curvature = json.loads(open(f"{trained}/hessian.json").read())
  ritz = np.array(curvature["ritz_values"])
  assert np.all(np.diff(ritz) >= 0) and curvature["largest"] == ritz[-1] > 0
  assert open(f"{trained}/plots/hessian.png", "rb").read(4) == b"\x89PNG"
  assert "epsilon 0.2: fgsm" in probes.attack(CONFIG, trained, count=128, pgd_steps=5)  # (defaults: 512, 10)
  summary = json.loads(open(f"{trained}/summary.json").read())
  attacked = summary["attack"]["accuracy"]
  clean = attacked["fgsm"][0]
  assert summary["attack"]["epsilons"][0] == 0 and attacked["pgd"][0] == clean > 0.8  # epsilon 0 moves nothing
  assert attacked["fgsm"][-1] < clean and attacked["pgd"][-1] < clean and "final" in summary
  assert open(f"{trained}/plots/attack.png", "rb").read(4) == b"\x89PNG"
  with pytest.raises(UsageError, match="--mode=hessian: task 'gan' is not an image classifier"):
    modes.check_needs("hessian", "gan")


def test_explain_draws_each_method_and_names_a_missing_layer(trained):
  for method in ("saliency", "cam", "gradcam"):
    assert modes.MODES["explain"].run(Config(**{**CONFIG.__dict__, "method": method}), trained).startswith("wrote")
    assert open(f"{trained}/plots/explain_{method}.png", "rb").read(4) == b"\x89PNG"
  classviz = modes.MODES["explain"].run(Config(**{**CONFIG.__dict__, "method": "classviz"}), trained)
  assert float(classviz.split("min ")[1].split(",")[0]) > 0.5  # each class's image is read as that class
  inversion = modes.MODES["explain"].run(Config(**{**CONFIG.__dict__, "method": "inversion"}), trained)
  assert float(inversion.split("mean ")[1].split(",")[0]) < 0.5  # relative feature error of the rebuilt images
  with pytest.raises(UsageError, match="has no layer 'nope'"):
    modes.MODES["explain"].run(Config(**{**CONFIG.__dict__, "method": "gradcam", "layer": "nope"}), trained)
