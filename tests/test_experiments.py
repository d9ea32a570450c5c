"""Each CNN family's digits experiment reaches its accuracy, the shakespeare LSTM and GPT their validation
losses, the seq2seq, Transformer and captioning models their exact-match and BLEU targets (minutes each on 2
cores: `make test-all`)."""

import glob
import json
import os
import re
import subprocess
import sys

import pytest

from jaxdl.config import load_flagfile
from tests.conftest import REPO, USER_XLA_FLAGS

FAMILIES = sorted(os.path.basename(p)[:-len(".flags")] for p in glob.glob(os.path.join(REPO, "experiments",
                                                                                      "digits_*.flags"))
                  if load_flagfile(p).task == "classify" and load_flagfile(p).mode == "train")
# (DeiT needs its teacher first, generators a judge: below; the first chapters' classifiers are fitted by their
# own modes in tests/test_classic.py)


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_digits_experiment_accuracy(tmp_path, name, record_property):
  """The test floor is reported (the flag files' headers state val and test); val chose the checkpoint."""
  result = run_as_a_user(name, tmp_path)
  for key in ("val_accuracy", "test_accuracy"):
    record_property(key, round(result["final"][key], 4))  # readable with --junitxml
  record_property("train_s", round(result["train_s"], 1))
  floor = {"digits_resnet18": 0.985, "digits_linear_svm": 0.96, "digits_mlp": 0.97, "digits_vit": 0.97,
           "digits_swin": 0.97}.get(name, 0.98)
  assert result["final"]["test_accuracy"] >= floor


@pytest.mark.slow
def test_deit_distilled_from_a_digits_resnet(tmp_path, record_property):
  """digits_deit.flags with the teacher its header names, trained first at the same 32x32."""
  teacher = run_as_a_user("digits_resnet18", tmp_path / "teacher", "--data_args=image_size=32",
                          "--model_args=stem=imagenet")
  record_property("teacher_test_accuracy", round(teacher["final"]["test_accuracy"], 4))
  result = run_as_a_user("digits_deit", tmp_path / "student",
                         f"--task_args=teacher={tmp_path / 'teacher'},kind=hard,label_smoothing=0.1")
  for key in ("val_accuracy", "test_accuracy"):
    record_property(key, round(result["final"][key], 4))
  assert result["final"]["test_accuracy"] >= 0.97


def judged(name: str, classifier="", draws: int = 1) -> str:
  """The --task_args of experiments/NAME.flags (judged by the shipped digits judge) with the classifier run its
  header trains first (runs/digits_noisy_classifier) at `classifier`, its samples judged over `draws` draws."""
  task_args = load_flagfile(os.path.join(REPO, "experiments", f"{name}.flags")).task_args
  task_args = task_args.replace("classifier=runs/digits_noisy_classifier", f"classifier={classifier}")
  return f"--task_args={task_args},quality_draws={draws}"


def quality(stdout: str) -> dict:
  """The metrics a `--mode=quality` run prints (`step N: name=value ...`)."""
  line = re.findall(r"^step \d+: (.*)$", stdout, re.MULTILINE)[-1]
  return {k: float(v) for k, v in re.findall(r"(\w+)=(\S+)", line)}


# The shipped digits judge (jaxdl:digits) scores every generator: its weights are fixed, so the distances do not
# depend on a judge trained on this CPU. Every run is a user's `jaxdl` process, as the headers were measured.


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits_cfg", "digits_dit", "digits_cgan"])
def test_conditional_samples_are_read_as_their_labels(tmp_path, name, record_property):
  """Classifier-free guidance (U-Net and DiT) and the conditional GAN: the judge labels >= 90% of 1,000 samples
  as the labels they were drawn for."""
  final = run_as_a_user(name, tmp_path, judged(name))["final"]
  record_property("label_accuracy", round(final["label_accuracy"], 4))
  record_property("frechet_distance", round(final["frechet_distance"], 3))
  assert final["label_accuracy"] >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits_vae", "digits_dcgan"])
def test_unconditional_samples_are_judged(tmp_path, name, record_property):
  final = run_as_a_user(name, tmp_path, judged(name))["final"]
  record_property("frechet_distance", round(final["frechet_distance"], 3))
  assert 0 < final["frechet_distance"] < float("inf")


@pytest.fixture(scope="module")
def ddpm(tmp_path_factory) -> tuple:
  """digits_ddpm.flags trained once, its 1,000-step ancestral samples judged over three draws (~4.5 min each on
  2 cores): (workdir, summary). digits_ddim.flags and digits_guided.flags sample this checkpoint, as their headers
  say a user does (the same flags and seed would train the same weights again)."""
  workdir = tmp_path_factory.mktemp("digits_ddpm")
  return workdir, run_as_a_user("digits_ddpm", workdir, judged("digits_ddpm", draws=3), timeout=3600)


@pytest.mark.slow
@pytest.mark.xdist_group("digits_ddpm")
def test_ddim_50_steps_come_within_half_again_of_ddpm_1000(ddpm, record_property):
  """DDIM through 50 of the 1,000 steps (eta 1) against DDPM through all of them, each the mean Fréchet distance
  over independent draws of 1,000 samples (DDPM three, DDIM ten). Measured on a 2-core AMD EPYC under the shipped
  judge: DDPM 0.181 (sd 0.017), DDIM 0.230 (sd 0.025), 27% worse; the ratio's standard error from those spreads is
  about 0.08, so 1.5 holds by about three of them (issue 12's 10% held under a judge trained on the CPU, not
  under a fixed one: README, "Generative models")."""
  workdir, summary = ddpm
  ddim = quality(run_as_a_user("digits_ddim", workdir, "--mode=quality", judged("digits_ddim", draws=10))["stdout"])
  record_property("ddpm_frechet_distance", round(summary["final"]["frechet_distance"], 4))
  record_property("ddim_frechet_distance", round(ddim["frechet_distance"], 4))
  assert ddim["frechet_distance"] <= 1.5 * summary["final"]["frechet_distance"]


@pytest.mark.slow
@pytest.mark.xdist_group("digits_ddpm")
def test_classifier_guided_ddpm_samples_are_read_as_their_labels(ddpm, tmp_path, record_property):
  """digits_guided.flags on the DDPM checkpoint, guided by digits_noisy_classifier.flags' run."""
  workdir, _ = ddpm
  run_as_a_user("digits_noisy_classifier", tmp_path / "classifier")
  guided = quality(run_as_a_user("digits_guided", workdir, "--mode=quality",
                                 judged("digits_guided", tmp_path / "classifier"))["stdout"])
  record_property("label_accuracy", round(guided["label_accuracy"], 4))
  record_property("frechet_distance", round(guided["frechet_distance"], 3))
  assert guided["label_accuracy"] >= 0.9


def run_as_a_user(name: str, workdir, *flags: str, timeout: int = 1800) -> dict:
  """`jaxdl --flagfile=experiments/NAME.flags` in a fresh process on one CPU device with JAX's default PRNG, as
  the flag file's header was measured (the user's XLA_FLAGS, without the suite's compile settings); returns its
  summary.json and stdout."""
  env = {k: v for k, v in os.environ.items() if k != "JAX_THREEFRY_PARTITIONABLE"}
  env["XLA_FLAGS"] = USER_XLA_FLAGS
  proc = subprocess.run([sys.executable, "-m", "jaxdl", f"--flagfile=experiments/{name}.flags",
                         f"--workdir={workdir}", *flags], cwd=REPO, capture_output=True, text=True, env=env,
                        timeout=timeout)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(workdir, "summary.json")) as f:
    return {**json.load(f), "stdout": proc.stdout}


@pytest.fixture
def corpus() -> str:
  """The 1.1 MB tiny shakespeare corpus, which is not shipped: JAXDL_TEXT_CORPUS points at it (the developers'
  checkout has it beside the repository). Missing, the test fails: it is not skipped."""
  path = os.environ.get("JAXDL_TEXT_CORPUS", os.path.join(REPO, "..", "shared", "data", "tinyshakespeare.txt"))
  if not os.path.isfile(path):
    pytest.fail(f"tiny shakespeare not found at {path}; set JAXDL_TEXT_CORPUS to its path")
  return path


@pytest.mark.slow
def test_shakespeare_lstm_validation_loss(tmp_path, corpus, record_property):
  result = run_as_a_user("shakespeare_lstm", tmp_path, f"--data=text:{corpus}")
  for key in ("val_loss", "test_loss"):
    record_property(key, round(result["final"][key], 4))
  record_property("train_s", round(result["train_s"], 1))
  assert result["final"]["val_loss"] <= 1.50


@pytest.mark.slow
def test_seq2seq_with_attention_reverses_sequences_up_to_20(tmp_path, record_property):
  result = run_as_a_user("seq2seq_reverse_attention", tmp_path)
  for key in ("val_exact_match", "test_exact_match"):
    record_property(key, round(result["final"][key], 4))
  assert result["final"]["test_exact_match"] >= 0.99


@pytest.mark.slow
def test_captioner_bleu_on_held_out_images_and_beam_searched_captions(tmp_path, record_property):
  result = run_as_a_user("shapes_captioning", tmp_path)
  for key in ("val_bleu", "test_bleu", "test_exact_match"):
    record_property(key, round(result["final"][key], 4))
  assert result["final"]["test_bleu"] >= 0.9
  lines = run_as_a_user("shapes_captioning", tmp_path, "--mode=sample")["stdout"].strip().splitlines()
  assert lines[-1] == f"wrote {tmp_path / 'plots' / 'samples.png'}"
  assert float(lines[-2].split("BLEU-4 ")[1].split()[0]) >= 0.9  # the first 8 test images' beam-searched captions


@pytest.mark.slow
def test_shakespeare_gpt_validation_loss(tmp_path, corpus, record_property):
  result = run_as_a_user("shakespeare_gpt", tmp_path, f"--data=text:{corpus}")
  for key in ("val_loss", "test_loss"):
    record_property(key, round(result["final"][key], 4))
  assert result["final"]["val_loss"] <= 1.88


@pytest.mark.slow
def test_transformer_reverses_sequences_up_to_20(tmp_path, record_property):
  result = run_as_a_user("seq2seq_reverse_transformer", tmp_path)
  record_property("test_exact_match", round(result["final"]["test_exact_match"], 4))
  assert result["final"]["test_exact_match"] >= 0.99
