"""Name -> constructor tables, so the loop never branches on a model's, task's or dataset's name."""

from typing import Any

from jaxdl.errors import UsageError


class Registry:
  """A name -> object table whose unknown-name error lists the known names."""

  def __init__(self, kind: str):
    self.kind = kind
    self._entries: dict[str, Any] = {}

  def register(self, name: str, obj: Any = None) -> Any:
    """`registry.register("name", obj)`, or `@registry.register("name")` as a decorator."""
    if obj is None:
      return lambda o: self.register(name, o)
    if name in self._entries:
      raise ValueError(f"{self.kind} {name!r} is registered twice")
    self._entries[name] = obj
    return obj

  def get(self, name: str) -> Any:
    if name not in self._entries:
      raise UsageError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
    return self._entries[name]

  def names(self) -> list[str]:
    return sorted(self._entries)


models = Registry("model")
tasks = Registry("task")
datasets = Registry("dataset")
optimizers = Registry("optimizer")
schedules = Registry("schedule")
activations = Registry("activation")
initializers = Registry("initializer")

