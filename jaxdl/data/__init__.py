"""Data sources by name (`--data=digits`, `idx:DIR`, `folder:DIR`, `tfds:NAME`, `text:PATH`,
`synthetic:reverse`, `shapes`, `coco:DIR`, ...) and grain pipelines."""

from jaxdl import args
# The imports register the sources.
from jaxdl.data import (captions, coco, digits, folder, idx, sequences, shapes, synthetic, text,  # noqa: F401
                        tfds_source)
from jaxdl.data.source import Dataset
from jaxdl.registry import datasets


def load(spec: str, data_args: str = "", seed: int = 0) -> Dataset:
  """Loads `--data=KIND[:PATH]` (or a source registered under the whole spec, e.g. `synthetic:reverse`) with
  `--data_args` checked against that loader's keywords."""
  kind, _, path = spec.partition(":")
  if spec in datasets.names():
    kind, path = spec, ""
  loader = datasets.get(kind)
  return loader(path, seed, **args.parse(data_args, loader, "data_args"))
