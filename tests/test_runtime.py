"""Process-wide settings: the compilation cache's place, deterministic GPU kernels, joining a multi-host run."""

import os

import jax
import pytest

from jaxdl import runtime
from jaxdl.errors import UsageError


def test_process_flags_need_a_coordinator_and_a_process_index_below_the_count():
  with pytest.raises(UsageError, match="--num_processes and --process_id need --coordinator=HOST:PORT"):
    runtime.initialize_distributed(num_processes=2, process_id=1)
  with pytest.raises(UsageError, match="needs --num_processes >= 1 and 0 <= --process_id < --num_processes"):
    runtime.initialize_distributed("localhost:1234", num_processes=2, process_id=2)


def test_deterministic_adds_xlas_flag_once(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
  runtime.set_deterministic()
  runtime.set_deterministic()
  assert runtime.DETERMINISTIC_XLA_FLAGS in os.environ["XLA_FLAGS"]
  assert os.environ["XLA_FLAGS"].count("deterministic") == 1
  assert "--xla_force_host_platform_device_count=8" in os.environ["XLA_FLAGS"]


def test_compile_cache_flag_chooses_the_directory_and_the_default_stays(tmp_path, monkeypatch):
  before = jax.config.jax_compilation_cache_dir
  try:
    runtime.set_compile_cache(str(tmp_path / "xla"))
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    runtime.set_compile_cache("")
    assert jax.config.jax_compilation_cache_dir == runtime.DEFAULT_COMPILE_CACHE
  finally:
    jax.config.update("jax_compilation_cache_dir", before)
