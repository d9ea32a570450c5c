"""Process-wide settings: keeping freed memory, the compilation cache's place, deterministic GPU kernels, joining
a multi-host run."""

import json
import os
import platform
import resource
import subprocess
import sys
import textwrap

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


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc is what keep_freed_memory tunes")
def test_keep_freed_memory_lets_a_worker_threads_scratch_buffer_be_reused_without_page_faults():
  # XLA allocates its scratch memory on worker threads, beside buffers they hold. 48 MiB is above glibc's 32 MiB
  # mmap cut-off, and beside the 20 MiB held it does not fit the 64 MiB heap, so glibc maps a heap for it each time
  # and unmaps that heap when the buffer is freed, unless keep_freed_memory's top pad keeps it.
  code = textwrap.dedent("""
      import ctypes, resource, sys, threading
      from jaxdl import runtime
      if sys.argv[1] == "keep":
        runtime.keep_freed_memory()
      libc = ctypes.CDLL(None)
      libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
      faults = []
      def allocate_write_free():  # as XLA:CPU treats a run's scratch buffer
        held = libc.malloc(20 * 2**20)
        ctypes.memset(held, 1, 20 * 2**20)
        for _ in range(4):
          before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
          buffer = libc.malloc(48 * 2**20)
          ctypes.memset(buffer, 1, 48 * 2**20)
          libc.free(buffer)
          faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
      worker = threading.Thread(target=allocate_write_free)
      worker.start()
      worker.join()
      print(faults[1:])
  """)
  faults = {how: json.loads(subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True,
                                           check=True).stdout)
            for how in ("default", "keep")}
  pages = 48 * 2**20 // resource.getpagesize()
  assert min(faults["default"]) > pages // 2  # each new buffer is mapped and faulted in again
  assert max(faults["keep"]) < pages // 20  # the freed buffer is reused
