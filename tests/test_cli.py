"""The `jaxdl` command as a user meets it: every bad value ends in one line, exit status 2, nothing created.

The catalog runs in one process (tests/cli_batch.py): one JAX start-up for all of it.
"""

import dataclasses
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_jaxdl, run_jaxdl_batch
from tests.data.idx_files import write_mnist_like

SMALL = ["--data=digits", "--data_args=image_size=8", "--model=mlp", "--model_args=depth=1,width=32", "--steps=4",
         "--batch_size=32", "--log_every=2"]

LM = ["--model=rnn_lm", "--task=language_model", "--model_args=hidden=16,embed=8", "--data_args="]

# (name, flags after SMALL, fragments of the one error line). A later flag overrides SMALL's.
CATALOG = [
    ("unknown-flag", ["--nosuchflag=1"], ["Unknown command line flag 'nosuchflag'"]),
    ("unknown-optimizer", ["--optim=lion"], ["--optim=lion", "adagrad|adam|adamw|momentum|nesterov|rmsprop|sgd"]),
    ("unknown-dataset", ["--data=imagenet"], ["unknown dataset 'imagenet'", "digits, folder, idx, shapes, synthetic"]),
    ("unknown-mode", ["--mode=fly"], ["--mode=fly"]),
    ("unknown-dtype", ["--dtype=int8"], ["--dtype=int8"]),
    ("misspelt-model-arg", ["--model_args=depht=2"], ["--model_args: unknown key 'depht'", "depth"]),
    ("model-arg-type", ["--model_args=depth=two"], ["--model_args depth: expected int, got 'two'"]),
    ("model-arg-zero-depth", ["--model_args=depth=0"], ["--model_args depth=0 is out of range: must be >= 1"]),
    ("model-arg-dropout-1", ["--model_args=dropout=1.0"], ["--model_args dropout=1.0 is out of range", "[0, 1)"]),
    ("model-arg-num-classes", ["--model_args=num_classes=5"], ["num_classes comes from the data"]),
    ("mesh", ["--mesh=data=3"], ["--mesh=data=3 does not cover"]),
    ("seed-negative", ["--seed=-1"], ["--seed", "-1"]),
    ("seed-huge", ["--seed=99999999999"], ["--seed"]),
    ("lr-negative", ["--lr=-1"], ["--lr must be > 0"]),
    ("lr-zero", ["--lr=0"], ["--lr must be > 0"]),
    ("steps-zero", ["--steps=0"], ["--steps"]),
    ("batch-zero", ["--batch_size=0"], ["--batch_size"]),
    ("batch-too-large", ["--batch_size=4096"], ["--batch_size=4096 exceeds the"]),
    ("warmup-negative", ["--warmup_steps=-1"], ["--warmup_steps"]),
    ("warmup-too-long", ["--warmup_steps=4"], ["--warmup_steps=4 must be smaller than --steps=4"]),
    ("weight-decay-negative", ["--weight_decay=-0.1"], ["--weight_decay"]),
    ("accumulation-zero", ["--grad_accum_steps=0"], ["--grad_accum_steps"]),
    ("log-every-zero", ["--log_every=0"], ["--log_every"]),
    ("eval-every-negative", ["--eval_every=-1"], ["--eval_every"]),
    ("checkpoint-every-zero", ["--checkpoint_every=0"], ["--checkpoint_every"]),
    ("keep-zero", ["--keep_checkpoints=0"], ["--keep_checkpoints"]),
    ("patience-negative", ["--early_stop_patience=-1"], ["--early_stop_patience"]),
    ("label-smoothing", ["--task_args=label_smoothing=1.5"], ["--task_args label_smoothing=1.5 is out of range"]),
    ("unknown-loss", ["--task_args=loss=l7"], ["loss='l7'", "cross_entropy, hinge"]),
    ("l2-negative", ["--task_args=l2=-1"], ["--task_args l2=-1 is out of range: must be >= 0"]),
    ("image-size-zero", ["--data_args=image_size=0"], ["--data_args image_size=0 is out of range: must be >= 1"]),
    ("val-fraction", ["--data_args=val_fraction=1.5"], ["--data_args val_fraction=1.5 is out of range"]),
    ("val-fraction-empty", ["--data_args=val_fraction=0.0001"], ["val split(s) empty"]),
    ("test-fraction-zero", ["--data_args=test_fraction=0"], ["--data_args test_fraction=0 is out of range"]),
    ("momentum-above-1", ["--optim=momentum", "--optim_args=momentum=1.5"], ["--optim_args momentum=1.5"]),
    ("adam-b2-1", ["--optim_args=b2=1"], ["--optim_args b2=1 is out of range"]),
    ("eps-zero", ["--optim_args=eps=0"], ["--optim_args eps=0 is out of range: must be > 0"]),
    ("decay-rate-zero", ["--schedule=step", "--schedule_args=decay_rate=0"], ["--schedule_args decay_rate=0"]),
    ("cycles-zero", ["--schedule=cyclic_cosine", "--schedule_args=cycles=0"], ["--schedule_args cycles=0"]),
    ("crop-negative", ["--augment=crop=-1"], ["--augment crop=-1 is out of range: must be >= 0"]),
    ("rotate-too-far", ["--augment=rotate=500"], ["--augment rotate=500 is out of range"]),
    ("augment-not-a-number", ["--augment=mixup=lots"], ["--augment mixup: expected float, got 'lots'"]),
    ("unknown-augment", ["--augment=warp"], ["--augment: unknown op 'warp'"]),
    ("eval-empty-workdir", ["--mode=eval"], ["no checkpoint in", "train first"]),
    ("sample-classifier", ["--mode=sample"], ["--mode=sample: task 'classify' does not generate samples"]),
    ("stray-argument", ["extra"], ["unexpected arguments ['extra']"]),
    ("top-p-zero", ["--top_p=0"], ["--top_p must be in (0, 1]"]),
    # Text files ({root}: the catalog's directory, where the fixture writes them)
    ("text-missing", ["--data=text:{root}/none.txt", *LM], ["--data=text:", "none.txt: no such file"]),
    ("text-empty", ["--data=text:{root}/empty.txt", *LM], ["empty.txt: the file is empty"]),
    ("text-binary", ["--data=text:{root}/binary.txt", *LM], ["binary.txt: looks binary (NUL byte at offset 3)"]),
    ("text-latin-1", ["--data=text:{root}/latin1.txt", *LM], ["latin1.txt: not UTF-8 (byte 0xe9 at offset 3)"]),
    ("text-too-short", ["--data=text:{root}/short.txt", *LM], ["is shorter than window + 1 = 129 tokens"]),
    ("text-unknown-cell", ["--data=text:{root}/text.txt", *LM, "--model_args=cell=lstn,hidden=16"], ["cell='lstn'",
                                                                                           "rnn, lstm, gru"]),
    ("seq2seq-attention", ["--data=synthetic:reverse", "--model=seq2seq", "--task=translate",
                           "--model_args=attention=dot", "--data_args="],
     ["attention='dot'", "additive, multiplicative"]),
    ("reverse-lengths", ["--data=synthetic:reverse", "--model=seq2seq", "--task=translate", "--model_args=",
                         "--data_args=min_length=5,max_length=3"], ["min_length=5 exceeds max_length=3"]),
    ("stateful-needs-text", [*LM, "--task_args=stateful=true"], ["needs consecutive windows", "--data=digits"]),
    ("stateful-pmap", ["--data=text:{root}/text.txt", *LM, "--task_args=stateful=true", "--parallel_mode=pmap"],
     ["runs with --parallel_mode=jit"]),
    ("stateful-streams-short", ["--data=text:{root}/text.txt", *LM, "--task_args=stateful=true", "--batch_size=64"],
     ["--batch_size=64 streams", "shorter than one window of 128"]),
    # Flag files, and a noise schedule too short for its betas
    ("flag-file-missing", ["--flagfile={root}/none.flags"], ["Unable to open flagfile", "none.flags"]),
    ("flag-file-line-without-dashes", ["--flagfile={root}/nodash.flags"],
     ["nodash.flags:2: 'model=mlp' is not a --flag=value line"]),
    ("linear-schedule-too-short", ["--model=unet", "--task=diffusion", "--model_args=", "--task_args=steps=10"],
     ["--task_args steps=10", "passes 1", "use steps >= 20 or schedule=cosine"]),
]


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def catalog_results(tmp_path_factory):
  root = tmp_path_factory.mktemp("catalog")
  for name, content in {"empty.txt": b"", "binary.txt": b"abc\0def", "latin1.txt": "caf\u00e9".encode("latin-1"),
                        "short.txt": b"to be", "text.txt": b"to be or not to be\n" * 300,
                        "nodash.flags": b"--steps=4\nmodel=mlp\n"}.items():
    (root / name).write_bytes(content)
  results = run_jaxdl_batch(*[[*SMALL, f"--workdir={root / name}", *(f.format(root=root) for f in flags)]
                              for name, flags, _ in CATALOG])
  return root, dict(zip([name for name, _, _ in CATALOG], results))


def assert_usage_error(result, *fragments):
  """Exit status 2, exactly one line on stderr naming the problem, nothing on stdout."""
  assert result["code"] == 2, result
  assert "Traceback" not in result["stderr"], result["stderr"]
  lines = result["stderr"].strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("jaxdl: error:"), result["stderr"]
  assert result["stdout"] == ""
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


@pytest.mark.xdist_group("cli_catalog")  # one worker runs the catalog once
@pytest.mark.parametrize("name,flags,fragments", CATALOG, ids=[c[0] for c in CATALOG])
def test_bad_value_is_one_line_and_creates_nothing(catalog_results, name, flags, fragments):
  root, results = catalog_results
  assert_usage_error(results[name], *fragments)
  assert not os.path.exists(root / name), os.listdir(root / name)


@pytest.mark.parallel
def test_a_batch_that_does_not_split_over_the_devices_is_one_line_and_creates_nothing(tmp_path):
  """In the 8-device process (the jaxdl process it starts inherits its devices): 60 rows do not split over 8."""
  result, = run_jaxdl_batch([*SMALL, f"--workdir={tmp_path / 'run'}", "--batch_size=60"])
  assert_usage_error(result, "--batch_size=60 must be divisible by the 8")
  assert not os.path.exists(tmp_path / "run")


def test_file_and_shape_errors(tmp_path):
  """Missing and truncated IDX files, an image size the model cannot take, an unwritable workdir."""
  missing = write_mnist_like(str(tmp_path / "missing"))
  os.remove(os.path.join(missing, "t10k-images-idx3-ubyte"))
  truncated = write_mnist_like(str(tmp_path / "truncated"))
  labels = os.path.join(truncated, "train-labels-idx1-ubyte")
  data = open(labels, "rb").read()
  open(labels, "wb").write(data[:-7])
  mnist = write_mnist_like(str(tmp_path / "mnist"))
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  results = run_jaxdl_batch(
      [f"--data=idx:{missing}", f"--workdir={tmp_path}/a"],
      [f"--data=idx:{truncated}", f"--workdir={tmp_path}/b"],
      [f"--data=idx:{mnist}", "--data_args=val_size=10", "--model=lenet5", "--batch_size=32",
       f"--workdir={tmp_path}/c"],
      [f"--data=idx:{mnist}", "--data_args=pad_to=20,val_size=10", f"--workdir={tmp_path}/d"],
      [*SMALL, f"--workdir={blocker}/run"])
  assert_usage_error(results[0], "missing file t10k-images-idx3-ubyte")
  assert_usage_error(results[1], labels, "truncated")
  assert_usage_error(results[2], "LeNet5 takes 32x32 images, got 28x28", "pad_to=32")
  assert_usage_error(results[3], "pad_to=20 is smaller than the 28x28 images")
  assert_usage_error(results[4], f"--workdir={blocker}/run is not a writable")
  assert not any(os.path.exists(tmp_path / d) for d in "abcd")


def test_console_script_trains_and_reports_where_results_are(tmp_path):
  script = os.path.join(os.path.dirname(sys.executable), "jaxdl")
  proc = subprocess.run([script, *SMALL, f"--workdir={tmp_path}"], capture_output=True, text=True, cwd=REPO,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "final: test_accuracy=" in proc.stdout and "val_accuracy=" in proc.stdout
  assert f"results in {tmp_path}" in proc.stdout


def test_summary_mnist_experiment_and_augment_preview(tmp_path):
  """Three modes in one process: a per-layer summary, training the MNIST flag file on IDX files, a preview."""
  d = write_mnist_like(str(tmp_path / "mnist"), n_train=300, n_test=50)
  summary, mnist, preview, no_ops = run_jaxdl_batch(
      ["--mode=summary", "--model=lenet5"],
      ["--flagfile=experiments/mnist_lenet5.flags", f"--data=idx:{d}", "--data_args=pad_to=32,val_size=50",
       "--batch_size=32", "--steps=6", "--warmup_steps=2", "--log_every=3", f"--workdir={tmp_path}/run"],
      ["--mode=augment_preview", "--augment=flip,crop=4,rotate=20,cutmix", f"--workdir={tmp_path}"],
      ["--mode=augment_preview", f"--workdir={tmp_path}/none"])
  assert summary["code"] == 0, summary["stderr"]
  assert "Conv_0" in summary["stdout"] and "Dense_2" in summary["stdout"]
  total = summary["stdout"].strip().splitlines()[-1].split()
  assert total == ["total", "61,706", "416,520"]  # LeNet-5: 0.42M multiply-adds per 32x32 image
  assert mnist["code"] == 0, mnist["stderr"]
  assert "val_accuracy=" in mnist["stdout"] and "test_accuracy=" in mnist["stdout"]
  assert "params 61,706" in mnist["stdout"]
  assert preview["code"] == 0, preview["stderr"]
  path = tmp_path / "plots" / "augment_preview.png"
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
  assert_usage_error(no_ops, "needs --augment")


def test_a_shorter_steps_clips_the_flag_files_warmup_and_saves_quietly(tmp_path):
  """--steps on the command line under the flag file's warmup: the warmup is halved to fit, with a notice (a
  --warmup_steps given beside it stays an error). Saves between evaluations carry no metrics by design, and
  orbax's warning about them stays out of the output."""
  flagfile = tmp_path / "long.flags"
  flagfile.write_text("\n".join([*SMALL, "--steps=1000", "--warmup_steps=100", "--checkpoint_every=2", ""]))
  clipped = run_jaxdl(f"--flagfile={flagfile}", "--steps=4", f"--workdir={tmp_path / 'a'}")  # its own process:
  assert clipped.returncode == 0, clipped.stderr  # absl's log lines reach its stderr as a user's would
  assert "jaxdl: --warmup_steps=100 is not shorter than --steps=4: warming up over 2 steps" in clipped.stderr
  assert "--warmup_steps=2" in (tmp_path / "a" / "flags.txt").read_text()
  assert "tracked_metric" not in clipped.stderr
  explicit, = run_jaxdl_batch([f"--flagfile={flagfile}", "--steps=4", "--warmup_steps=100",
                               f"--workdir={tmp_path / 'b'}"])
  assert_usage_error(explicit, "--warmup_steps=100 must be smaller than --steps=4")


def test_out_of_memory_is_one_line_naming_the_batch_and_the_memory(monkeypatch, capsys):
  """XLA's RESOURCE_EXHAUSTED (forced here: a 2-core CPU does not run out) ends in one line, exit status 1."""
  import jax
  from absl import flags
  from jaxdl.cli import main
  from jaxdl.modes import MODES

  def exhausted(config, workdir):
    raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 17179869184 bytes.")

  monkeypatch.setitem(MODES, "train", dataclasses.replace(MODES["train"], run=exhausted))
  flags.FLAGS.unparse_flags()
  try:
    with pytest.raises(SystemExit) as exit_:
      main.main_reporting_errors(main.parse_flags(["jaxdl", *SMALL, "--batch_size=64", "--workdir=unused"]))
  finally:
    flags.FLAGS.unparse_flags()
  assert exit_.value.code == 1
  line, = capsys.readouterr().err.strip().splitlines()
  assert line.startswith("jaxdl: error: out of memory at --batch_size=64 (16.00 GiB asked for") and \
      "smaller --batch_size" in line
