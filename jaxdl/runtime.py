"""Process-wide settings, made once after the flags are parsed and before the backend starts: how freed memory
is kept, where compiled programs are cached, deterministic GPU kernels, and joining a multi-host run.

A multi-host run is N copies of the same command (one per host, or per GPU), joined by JAX's distributed
runtime: explicitly (--coordinator, --num_processes, --process_id), or from what SLURM, a multi-host TPU VM or
JAX_COORDINATOR_ADDRESS put in the environment. On CPUs the processes' collectives go through gloo.
"""

import ctypes
import os
import platform
import re
import sys
import traceback

import jax
from absl import logging

from jaxdl.errors import UsageError

DEFAULT_COMPILE_CACHE = os.path.expanduser("~/.cache/jaxdl/xla")
# Deterministic GPU kernels: no atomics in reductions and scatters, autotuning among deterministic choices only.
DETERMINISTIC_XLA_FLAGS = "--xla_gpu_deterministic_ops=true"


# glibc's mallopt parameters (malloc.h): the thresholds at the largest value an int holds (about 2 GiB), the top
# pad at the most a worker thread's heap holds (HEAP_MAX_SIZE on 64-bit Linux).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP = ((_M_MMAP_THRESHOLD, 2**31 - 1), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 64 * 2**20))


def keep_freed_memory() -> None:
  """Has glibc's malloc keep freed blocks for reuse instead of returning them to the kernel.

  XLA:CPU allocates each run's scratch memory afresh (52 MiB for shakespeare_gpt's training step). glibc serves
  blocks over 32 MiB with a new mmap and frees them with munmap, so every step page-faulted in that many zeroed
  pages: 12,800 faults and 35-50 ms of kernel time on a 65-80 ms step on the 2-core CPU. Raised thresholds let
  the next step reuse the memory.

  XLA allocates on worker threads, whose memory glibc keeps in heaps of at most 64 MiB. When a scratch buffer does
  not fit the room left in the thread's heap, glibc maps a new heap for it, and it unmaps a heap as soon as it is
  wholly free, whatever the trim threshold, unless the heap before it has less room than the top pad. With the top
  pad at 64 MiB such a heap stays for the next step: without it, shakespeare_gpt's step still faulted 5,000-6,500
  pages in (a third of a core in the kernel; 48-52 ms per step against 41-46 with the pad). Buffers over 64 MiB fit
  no heap and are still mapped afresh unless the process starts with MALLOC_ARENA_MAX=1 (one heap for all threads;
  it is not set here because XLA's compiles then take about 14% longer). Untouched padding costs address space (and
  commit charge under strict overcommit), not memory. Elsewhere than glibc there is nothing to change.
  """
  if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
    return
  mallopt = ctypes.CDLL(None).mallopt
  refused = [parameter for parameter, value in _KEEP if mallopt(parameter, value) != 1]
  if refused:
    logging.warning("glibc's mallopt refused parameters %s; large buffers will be page-faulted in on every step",
                    refused)


def set_compile_cache(directory: str) -> None:
  """JAX's persistent compilation cache in `directory`; empty: JAX_COMPILATION_CACHE_DIR if set, else
  ~/.cache/jaxdl/xla (a rerun or resume then skips XLA's compiles)."""
  if directory:
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(os.path.expanduser(directory)))
  elif "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    jax.config.update("jax_compilation_cache_dir", DEFAULT_COMPILE_CACHE)


def set_deterministic() -> None:
  """XLA's deterministic-ops flags, which it reads when the backend starts (CPU kernels are deterministic
  already, so this changes nothing there)."""
  if DETERMINISTIC_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {DETERMINISTIC_XLA_FLAGS}".strip()


def _launched_as_several() -> bool:
  """Whether the environment says this process is one of several: SLURM tasks, TPU VM hosts, JAX's own."""
  slurm_tasks = int(os.environ.get("SLURM_NTASKS", "1"))
  tpu_hosts = len(os.environ.get("TPU_WORKER_HOSTNAMES", "").split(","))
  return slurm_tasks > 1 or tpu_hosts > 1 or "JAX_COORDINATOR_ADDRESS" in os.environ


def initialize_distributed(coordinator: str = "", num_processes: int = 0, process_id: int = -1,
                           heartbeat_timeout_s: int = 100) -> None:
  """Joins the multi-host run the flags or the environment describe; a single process does nothing."""
  if coordinator:
    if num_processes < 1 or not 0 <= process_id < num_processes:
      raise UsageError(f"--coordinator={coordinator} needs --num_processes >= 1 and 0 <= --process_id < "
                       f"--num_processes (got {num_processes} and {process_id})")
  elif num_processes > 1 or process_id >= 0:
    raise UsageError("--num_processes and --process_id need --coordinator=HOST:PORT (process 0's address)")
  elif not _launched_as_several():
    return
  jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes only; GPUs use NCCL
  if coordinator:
    jax.distributed.initialize(coordinator, num_processes, process_id, heartbeat_timeout_seconds=heartbeat_timeout_s)
  else:
    jax.distributed.initialize(heartbeat_timeout_seconds=heartbeat_timeout_s)  # reads SLURM / TPU / JAX_* itself


def exit_multihost_on_error(error: Exception, exit_code: int = 1) -> None:
  """Ends a process of a multi-host run that failed, at once.

  Its peers are blocked in a collective with it: exiting now closes its connections, so they fail too, instead
  of everyone waiting for the distributed runtime's shutdown barrier (which a dead peer never reaches). A
  collective that failed because a peer died is reported as that, in one line.
  """
  if jax.process_count() == 1:
    return
  text = str(error).strip()
  if any(sign in text for sign in ("Gloo", "Connection reset", "heartbeat", "UNAVAILABLE", "Socket closed")):
    reason = re.sub(r"^(\w+: )?(Error dispatching computation: )+", "", text.splitlines()[0])[:300]
    print(f"jaxdl: error: process {jax.process_index()} of {jax.process_count()}: another process of this "
          f"multi-host run stopped ({reason}); restart all {jax.process_count()} processes with the same flags "
          "to resume from the last checkpoint", file=sys.stderr)
  else:
    traceback.print_exception(error)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(exit_code)
