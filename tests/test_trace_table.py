"""bench/trace_table.py (gpt_mfu's --profile_dir) on a hand-made GPU trace in the profiler's trace.json layout."""

import gzip
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import trace_table  # noqa: E402  (bench/ is a folder of scripts, not a package)

METADATA = [
    {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "/device:GPU:0"}},
    {"ph": "M", "pid": 1, "tid": 7, "name": "thread_name", "args": {"name": "Stream #7(Compute)"}},
    {"ph": "M", "pid": 1, "tid": 8, "name": "thread_name", "args": {"name": "Stream #8(MemcpyD2D)"}},
    {"ph": "M", "pid": 1, "tid": 9, "name": "thread_name", "args": {"name": "XLA Ops"}},
    {"ph": "M", "pid": 701, "name": "process_name", "args": {"name": "/host:CPU"}},
    {"ph": "M", "pid": 701, "tid": 7, "name": "thread_name", "args": {"name": "Stream #7 launcher"}},
]


def step_events(start: float, fusion_id: int) -> list[dict]:
  """One step: a GEMM, a fusion, a copy on another stream overlapping it, a gap, cuDNN attention."""
  kernel = lambda tid, ts, dur, name: {"ph": "X", "pid": 1, "tid": tid, "ts": start + ts, "dur": dur, "name": name}
  return [kernel(7, 0, 40, "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n"),
          kernel(7, 40, 10, f"loop_add_fusion_{fusion_id}"),
          kernel(8, 45, 10, "memcpy32_post"),
          kernel(7, 60, 20, "cudnn_generated_fort_native_sdpa_sm90_flash_fprop"),
          # the device's derived op line and the host's threads repeat the same span: not kernels
          {"ph": "X", "pid": 1, "tid": 9, "ts": start, "dur": 80, "name": "fusion.1"},
          {"ph": "X", "pid": 701, "tid": 7, "ts": start, "dur": 90, "name": "PjitFunction(step)"}]


EVENTS = METADATA + step_events(0, 3) + step_events(100, 15)


def test_table_splits_two_steps_kernel_time_by_kind_and_family_and_counts_overlap_once():
  kernels = trace_table.stream_kernels(EVENTS)
  assert len(kernels) == 8
  table = trace_table.table(kernels, steps=2)
  assert table["span_ms_per_step"] == 0.09  # 0 to 180 us over 2 steps
  assert table["busy"] == round(150 / 180, 4)  # per step 0-55 and 60-80 us
  assert table["kinds_ms_per_step"] == {"matmul": 0.04, "attention": 0.02, "other": 0.02}
  assert table["kernels_ms_per_step"] == {"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n": 0.04,
                                          "cudnn_generated_fort_native_sdpa_sm90_flash_fprop": 0.02,
                                          "loop_add_fusion": 0.01, "memcpy32_post": 0.01}


def test_summarize_reads_the_newest_trace_under_the_profile_dir(tmp_path):
  with pytest.raises(FileNotFoundError, match="plugins/profile"):
    trace_table.newest_trace(str(tmp_path))
  run = tmp_path / "plugins" / "profile" / "2026_12_07_03_00_00"
  run.mkdir(parents=True)
  with gzip.open(run / "host.trace.json.gz", "wt") as f:
    json.dump({"traceEvents": EVENTS}, f)
  older = run.parent / "2026_12_07_02_00_00"
  older.mkdir()
  (older / "host.trace.json.gz").write_bytes(b"")  # an earlier, unreadable trace: not the one read
  os.utime(older / "host.trace.json.gz", (0, 0))
  path = trace_table.newest_trace(str(tmp_path))
  assert path == str(run / "host.trace.json.gz")
  assert trace_table.summarize(path, steps=2, top=1)["kernels_ms_per_step"] == {
      "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n": 0.04}


def test_a_trace_without_gpu_streams_is_an_error_not_an_empty_table():
  host_only = [e for e in EVENTS if e["pid"] == 701]
  with pytest.raises(ValueError, match="no kernels on GPU streams"):
    trace_table.table(trace_table.stream_kernels(host_only), steps=2)
