"""Each mode states the task abilities it reads (jaxdl.tasks.contract Protocols); a task lacking one is one line
naming the mode, the task and what it lacks, before anything is built or read."""

import pytest

import jaxdl.tasks  # noqa: F401  (registers the tasks)
from jaxdl import registry
from jaxdl.errors import UsageError
from jaxdl.modes import LACKING, MODES, check_needs
from jaxdl.tasks import contract

NEEDS = [(mode, need) for mode in MODES for need in MODES[mode].needs]


def methods(protocol: type) -> list[str]:
  return [name for name in vars(protocol) if not name.startswith("_")]


@pytest.mark.parametrize("mode,need", NEEDS, ids=[f"{m}-{n.__name__}" for m, n in NEEDS])
def test_a_mode_names_the_ability_its_task_lacks(mode, need, monkeypatch):
  others = [other for other in MODES[mode].needs if other is not need]
  lacking = type("Lacking", (), {name: lambda self, *a: None for other in others for name in methods(other)})
  monkeypatch.setitem(registry.tasks._entries, "lacking", lacking)
  with pytest.raises(UsageError) as error:
    check_needs(mode, "lacking")
  message = str(error.value)
  assert message.startswith(f"--mode={mode}: task 'lacking' {LACKING[need]}")
  assert f"jaxdl.tasks.contract.{need.__name__}" in message and all(m in message for m in methods(need))
  assert "\n" not in message


def test_every_registered_task_passes_the_checks_of_the_modes_it_has_abilities_for():
  """A task is refused exactly the modes whose abilities it lacks (a classifier is probed, not sampled; a
  diffusion model is sampled and scored, not probed)."""
  for name in registry.tasks.names():
    task = registry.tasks.get(name)
    for mode in MODES:
      if all(issubclass(task, need) for need in MODES[mode].needs):
        check_needs(mode, name)
      else:
        with pytest.raises(UsageError, match=f"--mode={mode}: task '{name}'"):
          check_needs(mode, name)
  assert issubclass(registry.tasks.get("classify"), contract.Classifier)
  assert issubclass(registry.tasks.get("diffusion"), contract.Sampler)
  assert issubclass(registry.tasks.get("diffusion"), contract.FinalMetrics)


def test_every_ability_a_mode_needs_has_an_error_line():
  assert {need for _, need in NEEDS} <= set(LACKING)
