"""The suite's device split (tests/conftest.py): tests not marked `parallel` run in a process with one CPU device,
where no step can compile a collective; the `parallel` ones run in a process with 8 fake devices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import parallel
from tests.conftest import PARALLEL_DEVICES


def data_parallel_gradient_hlo() -> str:
  """The compiled HLO of a gradient over a batch split on the default mesh (`--mesh=data=-1`), as the loop's."""
  strategy = parallel.JitParallel("data=-1")
  w = strategy.put_state(jnp.ones((4, 2)))
  x = strategy.put_batch(np.ones((PARALLEL_DEVICES, 4), np.float32))
  step = strategy.compile_train_step(jax.grad(lambda w, x: jnp.mean((x @ w) ** 2)))
  return step.lower(w, x).compile().as_text()


def test_unmarked_tests_run_on_one_device_and_compile_no_collective():
  assert jax.device_count() == 1, "tests not marked `parallel` must run on one device (tests/conftest.py)"
  assert "all-reduce" not in data_parallel_gradient_hlo()


@pytest.mark.parallel
def test_parallel_tests_run_on_eight_devices_where_the_same_step_all_reduces():
  assert jax.device_count() == PARALLEL_DEVICES
  assert "all-reduce" in data_parallel_gradient_hlo()
