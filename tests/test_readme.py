"""The README and the family pages (docs/*.md) stay true: the library snippet runs, the catalog lists every
experiment with a link to the page that has it, and every command in the pages parses (flags, flag files, the
model's and task's settings, the mode's needs)."""

import contextlib
import glob
import io
import os
import re
import shlex
import subprocess

import pytest
from absl import flags

from jaxdl.config import load_flagfile
from tests.conftest import REPO, run_jaxdl

README = open(os.path.join(REPO, "README.md")).read()
PAGES = {os.path.relpath(p, REPO): open(p).read() for p in sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))}


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
    row = re.search(rf"^\| `{re.escape(name)}` \|.*\| \[\w+\]\((docs/\w+\.md)\) \|$", README, re.M)
    assert row, f"{name} needs its catalog row, with a link to its family's page"
    assert f"`{name}`" in PAGES[row.group(1)], f"{row.group(1)} does not list {name}"
    config = load_flagfile(os.path.join(REPO, "experiments", name))
    text = open(os.path.join(REPO, "experiments", name)).read()
    assert text.startswith("#") and "Command:" in text, f"{name} needs its header comment"
    assert config.steps > 0


def page_commands() -> list[tuple[str, list[str]]]:
  """(page, argv after the program) of every `jaxdl` command line in the pages' code blocks; a text corpus's
  PATH and a shell variable's $W are placeholders."""
  out = []
  for page, text in PAGES.items():
    for block in re.findall(r"```\n(.*?)```", text, re.S):
      for line in block.splitlines():
        words = shlex.split(line.split("  #")[0])
        if words and words[0] in (".venv/bin/jaxdl", "jaxdl"):
          out.append((page, [w.replace("$W", "runs/w") for w in words[1:]]))
  return out


@pytest.mark.parametrize("page,argv", page_commands(), ids=[f"{p}:{' '.join(a)[:60]}" for p, a in page_commands()])
def test_every_command_in_the_family_pages_parses(page, argv):
  from jaxdl.cli import flags as jaxdl_flags
  from jaxdl.modes import check_needs
  from jaxdl.train.setup import build_task
  flags.FLAGS.unparse_flags()
  try:
    flags.FLAGS(["jaxdl", *argv])
    config = jaxdl_flags.config_from_flags()
  finally:
    flags.FLAGS.unparse_flags()
  check_needs(config.mode, config.task)
  build_task(config, num_classes=10)  # the model's and the task's --*_args, checked against their fields


def test_the_pages_have_one_shape_and_are_all_linked():
  for page, text in PAGES.items():
    if page == os.path.join("docs", "ARCHITECTURE.md"):
      continue
    assert re.findall(r"^## .*$", text, re.M) == ["## What it is", "## Flag files and commands", "## Measured",
                                                 "## Pictures"], page
    assert f"]({page})" in README, f"{page} is not linked from the README"
    for image in re.findall(r"\]\(((?:samples|explain)/[\w.]+)\)", text):
      assert os.path.isfile(os.path.join(REPO, "docs", image)), (page, image)
  assert len(page_commands()) >= 40


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
