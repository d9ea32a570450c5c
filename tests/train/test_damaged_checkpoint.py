"""Any damage to a checkpoint's files is one line naming the step directory, what is wrong and the way on.

Exit status 2, no traceback, nothing deleted or overwritten; moving the directory away resumes from
the previous intact step, as the line says.
"""

import glob
import hashlib
import os
import shutil

import numpy as np
import pytest

from jaxdl.config import Config
from jaxdl.train import loop
from tests.conftest import run_jaxdl_batch

CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=1,width=32", steps=4,
                batch_size=32, log_every=2, checkpoint_every=2, keep_checkpoints=2)


def random_bytes(path):
  """Overwrites the file with as many random bytes as it had (at least 64)."""
  size = max(64, os.path.getsize(path))
  with open(path, "wb") as f:
    f.write(np.random.default_rng(0).bytes(size))


def largest(pattern):
  return lambda step_dir: [max(glob.glob(os.path.join(step_dir, pattern)), key=os.path.getsize)]


def named(rel):
  return lambda step_dir: [os.path.join(step_dir, rel)]


# (kind of damage, the files it touches, what is done to them, what the line says is wrong)
DAMAGE = [
    ("checkpoint-metadata", named("_CHECKPOINT_METADATA"), random_bytes, "checkpoint metadata"),
    ("metrics", named("metrics/metrics"), random_bytes, "its metrics (metrics/metrics) is not readable JSON"),
    ("data-iterator-state", named("data/metadata"), random_bytes, "data-iterator state"),
    ("array-metadata", named("state/_METADATA"), random_bytes, "array metadata"),
    ("array-data", largest("state/ocdbt.process_0/d/*"), random_bytes, "differs from the checksum written with it"),
    ("missing-array-file", largest("state/ocdbt.process_0/d/*"), os.remove, "state/ocdbt.process_0/d/"),
    ("missing-manifest", named("state/manifest.ocdbt"), os.remove, "(state/manifest.ocdbt) is missing"),
    ("empty-file", named("data/metadata"), lambda p: open(p, "w").close(), "data/metadata is empty"),
    ("every-file", lambda d: [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs], random_bytes, "is damaged"),
]


def tree_digest(directory):
  digest = hashlib.sha256()
  for root, dirs, files in sorted(os.walk(directory)):
    for name in sorted(dirs + files):
      path = os.path.join(root, name)
      digest.update(path.encode())
      if os.path.isfile(path):
        digest.update(open(path, "rb").read())
  return digest.hexdigest()


pytestmark = pytest.mark.xdist_group("damaged_checkpoints")  # one worker builds the damaged runs once


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def damaged_runs(tmp_path_factory):
  """One short run copied once per kind of damage, each damaged in its newest step and restarted."""
  root = tmp_path_factory.mktemp("damaged")
  loop.train_and_evaluate(CONFIG, str(root / "clean"))
  runs = {}
  for kind, files, damage, _ in DAMAGE:
    workdir = root / kind
    shutil.copytree(root / "clean", workdir)
    for path in files(str(workdir / "checkpoints" / "4")):
      damage(path)
    runs[kind] = (str(workdir), tree_digest(workdir / "checkpoints"))
  results = run_jaxdl_batch(*[[f"--flagfile={w}/flags.txt", f"--workdir={w}", "--steps=6"] for w, _ in runs.values()])
  return {kind: (*runs[kind], result) for kind, result in zip(runs, results)}


@pytest.mark.parametrize("kind,what", [(d[0], d[3]) for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_damage_is_one_line_naming_the_step_and_the_way_on(damaged_runs, kind, what):
  workdir, digest_before, result = damaged_runs[kind]
  step_dir = os.path.join(workdir, "checkpoints", "4")
  assert result["code"] == 2, result
  lines = result["stderr"].strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in result["stderr"], result["stderr"]
  assert lines[0].startswith(f"jaxdl: error: checkpoint {step_dir} is damaged"), lines[0]
  assert what in lines[0], lines[0]
  assert f"mv {step_dir} " in lines[0] and f"resumes from step 2 ({os.path.join(workdir, 'checkpoints', '2')})" in \
      lines[0]
  assert tree_digest(os.path.join(workdir, "checkpoints")) == digest_before  # nothing deleted or overwritten


def test_moving_the_damaged_step_away_resumes_from_the_previous_one(damaged_runs, tmp_path):
  workdir, _, result = damaged_runs["array-data"]
  command = result["stderr"].split("(mv ")[1].split(")")[0].split()
  shutil.move(*command)
  straight = loop.train_and_evaluate(CONFIG.__class__(**{**CONFIG.__dict__, "steps": 6}), str(tmp_path / "straight"))
  resumed = loop.train_and_evaluate(CONFIG.__class__(**{**CONFIG.__dict__, "steps": 6}), workdir)
  assert resumed["steps_run"] == 4  # steps 3..6, from the intact step 2
  assert resumed["params_fingerprint"] == straight["params_fingerprint"]
