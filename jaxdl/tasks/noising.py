"""The noise settings that a diffusion task and the classifier that guides it share (`contract.Noised`): one
schedule, named and sized the same way, checked where the task is built."""

import dataclasses

from jaxdl import diffusion
from jaxdl.args import PositiveInt


@dataclasses.dataclass(frozen=True, kw_only=True)
class NoiseSettings:
  """`schedule` (linear | cosine) over `steps` noise steps."""

  schedule: str = "linear"
  steps: PositiveInt = 1000

  def __post_init__(self):
    diffusion.named_schedule(self.schedule, self.steps)  # a bad name fails here, before training

  @property
  def noise_schedule(self) -> diffusion.Schedule:
    return diffusion.named_schedule(self.schedule, self.steps)
