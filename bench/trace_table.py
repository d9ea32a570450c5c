"""Where a traced step's GPU time goes, from a `jax.profiler` trace: MFU says how far the step is from the chip's
peak, this says what holds the rest. The table covers the kernels on the device's streams:

- busy: the share of the traced span in which some kernel ran (the rest: the host did not keep the GPU fed);
- kinds: matrix products (cuBLAS / CUTLASS / nvJet GEMMs), attention (cuDNN's fused kernels) and everything else
  (XLA's fusions: normalization, activations, the loss, the optimizer; copies);
- kernels: the largest, with the trailing ids that number one fusion per layer dropped, so a layer's kernel
  and its eleven twins add up to one row.
"""

import collections
import glob
import gzip
import json
import os
import re

KINDS = (("matmul", re.compile(r"gemm|xmma|cutlass|nvjet|cublas", re.I)),
         ("attention", re.compile(r"cudnn|fmha|flash|attention", re.I)))


def newest_trace(trace_dir: str) -> str:
  """The trace.json.gz that `jax.profiler.stop_trace` wrote last under `trace_dir`."""
  paths = glob.glob(os.path.join(trace_dir, "plugins", "profile", "*", "*.trace.json.gz"))
  if not paths:
    raise FileNotFoundError(f"no plugins/profile/*/*.trace.json.gz under {trace_dir}")
  return max(paths, key=os.path.getmtime)


def stream_kernels(events: list[dict]) -> list[dict]:
  """The complete events on the GPU streams: threads named 'Stream ...' of processes named '/device:GPU:...'."""
  metadata = [e for e in events if e.get("ph") == "M"]
  processes = {e["pid"]: e["args"]["name"] for e in metadata if e["name"] == "process_name"}
  threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in metadata if e["name"] == "thread_name"}
  return [e for e in events if e.get("ph") == "X" and processes.get(e["pid"], "").startswith("/device:GPU")
          and threads.get((e["pid"], e.get("tid")), "").startswith("Stream")]


def kind(name: str) -> str:
  return next((label for label, pattern in KINDS if pattern.search(name)), "other")


def kernel_family(name: str) -> str:
  """'loop_add_fusion_12' and 'loop_add_fusion_3' -> 'loop_add_fusion'."""
  return re.sub(r"([._]\d+)+$", "", name)


def busy_us(kernels: list[dict]) -> float:
  """Microseconds in which at least one kernel ran (overlapping streams counted once)."""
  total, end = 0.0, float("-inf")
  for e in sorted(kernels, key=lambda e: e["ts"]):
    start, stop = max(e["ts"], end), e["ts"] + e["dur"]
    total += max(0.0, stop - start)
    end = max(end, stop)
  return total


def table(kernels: list[dict], steps: int, top: int = 15) -> dict:
  """ms per step of the traced span, its busy share, the kinds' and the largest kernel families' ms per step."""
  if not kernels:
    raise ValueError("the trace holds no kernels on GPU streams: trace on a GPU, or read the trace itself "
                     "(TensorBoard's profile plugin, ui.perfetto.dev)")
  span = max(e["ts"] + e["dur"] for e in kernels) - min(e["ts"] for e in kernels)
  kinds, families = collections.Counter(), collections.Counter()
  for e in kernels:
    kinds[kind(e["name"])] += e["dur"]
    families[kernel_family(e["name"])] += e["dur"]
  per_step_ms = lambda us: round(us / steps / 1e3, 3)
  return {"span_ms_per_step": per_step_ms(span), "busy": round(busy_us(kernels) / span, 4),
          "kinds_ms_per_step": {k: per_step_ms(v) for k, v in kinds.most_common()},
          "kernels_ms_per_step": {k: per_step_ms(v) for k, v in families.most_common(top)}}


def summarize(trace_path: str, steps: int, top: int = 15) -> dict:
  """`table` of the trace.json.gz at `trace_path`, which traced `steps` steps."""
  with gzip.open(trace_path, "rt") as f:
    trace = json.load(f)
  events = trace["traceEvents"] if isinstance(trace, dict) else trace
  return table(stream_kernels(events), steps, top)
