"""Writes a trained classifier run's best checkpoint as a shipped judge (jaxdl/judges/NAME.msgpack and NAME.json):
  python -m jaxdl.judges --run=runs/digits_judge --name=digits"""

import hashlib
import json
import os

import jax
import numpy as np
from absl import app, flags, logging
from flax import serialization

from jaxdl import data, judges
from jaxdl.config import load_flagfile
from jaxdl.train import setup
from jaxdl.train import state as state_lib

RUN = flags.DEFINE_string("run", None, "the workdir of a finished jaxdl classifier run", required=True)
NAME = flags.DEFINE_string("name", None, "the judge's name: --task_args judge=jaxdl:NAME", required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = load_flagfile(os.path.join(RUN.value, "flags.txt"))
  dataset = data.load(config.data, config.data_args, config.seed)
  config, task = setup.classifier_run(RUN.value, dataset, "judge")
  state = setup.restore_classifier(RUN.value, config, task, dataset)
  variables = jax.device_get({"params": state_lib.eval_params(state), **state.model_state})
  blob = serialization.msgpack_serialize(jax.tree.map(np.asarray, variables))
  with open(os.path.join(RUN.value, "summary.json")) as f:
    final = json.load(f)["final"]
  weights, description = judges.paths(NAME.value)
  with open(weights, "wb") as f:
    f.write(blob)
  about = {"model": config.model, "model_args": config.model_args, "num_classes": dataset.num_classes,
           "image_shape": list(dataset.example_shapes["image"]), "data": config.data, "data_args": config.data_args,
           "val_accuracy": final["val_accuracy"], "test_accuracy": final["test_accuracy"],
           "sha256": hashlib.sha256(blob).hexdigest(), "flags": open(os.path.join(RUN.value, "flags.txt")).read()}
  with open(description, "w") as f:
    json.dump(about, f, indent=1)
    f.write("\n")
  print(f"wrote {weights} ({len(blob):,} bytes) and {description}")


if __name__ == "__main__":
  app.run(main)
