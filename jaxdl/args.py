"""Parse `--model_args=depth=18,stem=small` style strings, type-checked against a constructor.

The allowed keys and their types come from the constructor itself (a dataclass such as a
flax module, a `functools.partial` of one, or a plain function's keyword arguments), so a
new hyperparameter needs no parser change.
"""

import collections.abc
import dataclasses
import functools
import inspect
import math
import types
import typing
from typing import Annotated, Any

import flax.linen as nn

from jaxdl.errors import UsageError

_MODULE_FIELDS = {"parent", "name"}  # flax.linen bookkeeping, never a hyperparameter


@dataclasses.dataclass(frozen=True)
class Range:
  """The valid values of a numeric hyperparameter, declared once beside it as `Annotated[int, Range(...)]`.

  `parse` checks every value it reads against the Range of its field (tuples: each element), so a
  new model, task or data source gets its checks by declaring them.
  """

  low: float = -math.inf
  high: float = math.inf
  low_open: bool = False   # True: low itself is not allowed
  high_open: bool = False

  def contains(self, value: float) -> bool:
    above = value > self.low if self.low_open else value >= self.low
    below = value < self.high if self.high_open else value <= self.high
    return above and below

  def __str__(self) -> str:
    if self.high == math.inf:
      return f"{'>' if self.low_open else '>='} {self.low:g}"
    if self.low == -math.inf:
      return f"{'<' if self.high_open else '<='} {self.high:g}"
    return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


# The ranges the curriculum's hyperparameters fall in; annotate a field with one of these.
PositiveInt = Annotated[int, Range(1)]
NonNegativeInt = Annotated[int, Range(0)]
PositiveFloat = Annotated[float, Range(0, low_open=True)]
NonNegativeFloat = Annotated[float, Range(0)]
Probability = Annotated[float, Range(0, 1, high_open=True)]  # dropout and drop-path rates, label smoothing
UnitInterval = Annotated[float, Range(0, 1)]
OpenUnit = Annotated[float, Range(0, 1, low_open=True, high_open=True)]  # fractions, decay factors, betas


def range_of(typ: Any) -> Range | None:
  """The Range an `Annotated` type declares, else None."""
  if typing.get_origin(typ) is Annotated:
    return next((m for m in typ.__metadata__ if isinstance(m, Range)), None)
  return None


def parameters(target: Any) -> dict[str, tuple[Any, Any]]:
  """Returns {name: (type, default)} for the settable hyperparameters of `target`."""
  bound: dict[str, Any] = {}
  while isinstance(target, functools.partial):
    bound = {**target.keywords, **bound}
    target = target.func
  if dataclasses.is_dataclass(target):
    hints = typing.get_type_hints(target, include_extras=True)
    skipped = _MODULE_FIELDS if isinstance(target, type) and issubclass(target, nn.Module) else set()
    out = {}
    for f in dataclasses.fields(target):
      required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
      if f.name in skipped or not f.init or (required and f.name not in bound):
        continue  # required fields (a task's model, say) are wired by code, not set by flags
      out[f.name] = (hints.get(f.name, Any), bound.get(f.name, f.default))
    return out
  sig = inspect.signature(target)
  hints = typing.get_type_hints(target, include_extras=True)
  return {
      name: (hints.get(name, Any), bound.get(name, p.default))
      for name, p in sig.parameters.items()
      if p.default is not inspect.Parameter.empty
  }


def _split_top_level(text: str) -> list[str]:
  """Splits on commas outside parentheses, so `sizes=(2,2),act=relu` is two items."""
  items, depth, start = [], 0, 0
  for i, ch in enumerate(text):
    depth += {"(": 1, ")": -1}.get(ch, 0)
    if ch == "," and depth == 0:
      items.append(text[start:i])
      start = i + 1
  items.append(text[start:])
  return [item.strip() for item in items if item.strip()]


def parse_value(text: str, typ: Any, where: str) -> Any:
  """`text` read as `typ`, checked against the Range an Annotated `typ` declares; `where` names it in errors."""
  bounds = range_of(typ)
  if typing.get_origin(typ) is Annotated:
    typ = typing.get_args(typ)[0]
  value = _convert_plain(text, typ, where)
  if bounds is not None and not bounds.contains(value):
    raise UsageError(f"{where}={text} is out of range: must be {bounds}")
  return value


def _convert_plain(text: str, typ: Any, where: str) -> Any:
  origin, type_args = typing.get_origin(typ), typing.get_args(typ)
  if origin in (typing.Union, types.UnionType):
    if text.lower() == "none" and type(None) in type_args:
      return None
    for candidate in (t for t in type_args if t is not type(None)):
      try:
        return parse_value(text, candidate, where)
      except UsageError:
        pass
    raise UsageError(f"{where}: cannot read {text!r} as {typ}")
  if origin is typing.Literal:
    if text not in type_args:
      raise UsageError(f"{where}={text}: choose one of {', '.join(map(str, type_args))}")
    return text
  if origin in (tuple, list, collections.abc.Sequence) or typ is tuple:
    inner = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    elem = type_args[0] if type_args else str
    return tuple(parse_value(part, elem, where) for part in _split_top_level(inner))
  if typ is bool:
    if text.lower() in ("true", "1", "yes"):
      return True
    if text.lower() in ("false", "0", "no"):
      return False
    raise UsageError(f"{where}: expected true or false, got {text!r}")
  if typ in (int, float):
    try:
      return typ(text)
    except ValueError:
      raise UsageError(f"{where}: expected {typ.__name__}, got {text!r}") from None
  return text  # str, Any and other annotations are passed through as text


def parse(spec: str, target: Any, flag: str) -> dict[str, Any]:
  """Parses `key=value,...` into keyword arguments for `target`; `flag` names the flag in errors."""
  params = parameters(target)
  out = {}
  for item in _split_top_level(spec or ""):
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep:
      raise UsageError(f"--{flag}: expected key=value, got {item!r}")
    if key not in params:
      raise UsageError(f"--{flag}: unknown key {key!r}; known keys: {', '.join(sorted(params)) or 'none'}")
    out[key] = parse_value(value.strip(), params[key][0], f"--{flag} {key}")
  return out

