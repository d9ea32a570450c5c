"""The README stays true: its library snippet runs, its catalog lists every experiment, its commands work."""

import contextlib
import io
import os
import re
import subprocess

from jaxdl.config import load_flagfile
from tests.conftest import REPO, run_jaxdl

README = open(os.path.join(REPO, "README.md")).read()


def test_library_snippet_runs():
  blocks = re.findall(r"```python\n(.*?)```", README, re.S)
  assert len(blocks) == 1
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    exec(compile(blocks[0], "README.md", "exec"), {})
  assert re.fullmatch(r"loss \d+\.\d{3}\n", out.getvalue())


def test_catalog_lists_every_experiment_and_each_parses():
  files = sorted(f for f in os.listdir(os.path.join(REPO, "experiments")) if f.endswith(".flags"))
  assert files
  for name in files:
    assert f"`{name}`" in README, name
    config = load_flagfile(os.path.join(REPO, "experiments", name))
    text = open(os.path.join(REPO, "experiments", name)).read()
    assert text.startswith("#") and "Command:" in text, f"{name} needs its header comment"
    assert config.steps > 0


def test_readme_override_command_and_local_launcher(tmp_path):
  proc = run_jaxdl("--flagfile=experiments/digits_mlp.flags", f"--workdir={tmp_path}/wide",
                   "--model_args=depth=3,width=512", "--lr=0.02", "--steps=20")
  assert proc.returncode == 0, proc.stderr
  env = {**os.environ, "JAXDL": os.path.join(os.path.dirname(os.sys.executable), "jaxdl")}
  proc = subprocess.run(["launch/local.sh", "digits_linear_svm", "--steps=10", f"--workdir={tmp_path}/svm"],
                        cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert os.path.exists(tmp_path / "svm" / "summary.json")
  proc = subprocess.run(["launch/local.sh", "nope"], cwd=REPO, capture_output=True, text=True, env=env)
  assert proc.returncode == 2 and "digits_lenet5" in proc.stderr
