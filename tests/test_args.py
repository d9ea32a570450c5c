"""`--model_args` style parsing against a constructor's own fields and types."""

import dataclasses

import pytest

from jaxdl import args
from jaxdl.errors import UsageError
from jaxdl.models.mlp import MLP


@dataclasses.dataclass
class Example:
  required: object
  depth: int = 18
  rate: float = 0.1
  name: str = "a"
  flag: bool = False
  sizes: tuple[int, ...] = (2, 2)
  maybe: int | None = None


def test_parses_each_type():
  got = args.parse("depth=50,rate=1e-3,name=b,flag=true,sizes=(3,4,6,3),maybe=none", Example, "model_args")
  assert got == {"depth": 50, "rate": 1e-3, "name": "b", "flag": True, "sizes": (3, 4, 6, 3), "maybe": None}


def test_required_fields_are_not_flags():
  assert "required" not in args.parameters(Example)
  with pytest.raises(UsageError, match="unknown key 'required'"):
    args.parse("required=1", Example, "task_args")


def test_flax_module_fields():
  params = args.parameters(MLP)
  assert {"depth", "width", "activation", "initializer", "dropout"} <= set(params)
  assert "parent" not in params and "name" not in params
  assert args.parse("depth=3,width=512,dropout=0.5", MLP, "model_args") == {"depth": 3, "width": 512, "dropout": 0.5}


@pytest.mark.parametrize("spec,message", [
    ("depht=3", "--model_args: unknown key 'depht'; known keys: .*depth"),
    ("depth=three", "--model_args depth: expected int, got 'three'"),
    ("flag=maybe", "expected true or false"),
    ("depth", "expected key=value"),
])
def test_errors_name_the_flag_and_what_was_expected(spec, message):
  with pytest.raises(UsageError, match=message):
    args.parse(spec, Example, "model_args")
