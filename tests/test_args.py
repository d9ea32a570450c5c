"""`--model_args` style parsing against a constructor's own fields and types."""

import dataclasses
import typing

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


@dataclasses.dataclass
class Bounded:
  rate: args.Probability = 0.1
  sizes: tuple[args.PositiveInt, ...] = (2, 2)
  eps: args.PositiveFloat = 1e-8


@pytest.mark.parametrize("spec,message", [
    ("rate=1.0", r"--model_args rate=1.0 is out of range: must be in \[0, 1\)"),
    ("rate=-0.1", "rate=-0.1 is out of range"),
    ("rate=nan", "rate=nan is out of range"),
    ("sizes=(2,0)", "sizes=0 is out of range: must be >= 1"),
    ("eps=0", "eps=0 is out of range: must be > 0"),
])
def test_declared_ranges_are_enforced(spec, message):
  with pytest.raises(UsageError, match=message):
    args.parse(spec, Bounded, "model_args")
  assert args.parse("rate=0,sizes=(1,5),eps=1e-3", Bounded, "model_args") == {"rate": 0.0, "sizes": (1, 5),
                                                                               "eps": 1e-3}


def _numeric(typ) -> bool:
  base = typing.get_args(typ)[0] if typing.get_origin(typ) is typing.Annotated else typ
  return base in (int, float) or any(_numeric(t) for t in typing.get_args(base) if t is not Ellipsis)


def _declared(typ) -> bool:
  if args.range_of(typ) is not None:
    return True
  inner = [t for t in typing.get_args(typ) if t is not Ellipsis]
  return bool(inner) and all(_declared(t) for t in inner if _numeric(t))


def test_every_numeric_setting_declares_its_range():
  """Every numeric --model_args/--task_args/--data_args/--optim_args/--schedule_args key and --augment value."""
  import jaxdl.cli.flags  # noqa: F401  (registers everything)
  from jaxdl import registry
  from jaxdl.data import augment
  targets = {f"{reg.kind} {name}": reg.get(name) for reg in (registry.models, registry.tasks, registry.datasets,
                                                              registry.optimizers, registry.schedules)
             for name in reg.names()}
  targets.update({f"augment {name}": fn for name, (fn, arg) in {**augment.IMAGE_OPS, **augment.MIX_OPS}.items()})
  undeclared = [f"{where}: {key}" for where, target in targets.items()
                for key, (typ, _) in args.parameters(target).items()
                if _numeric(typ) and not _declared(typ)]
  assert not undeclared
