# Each target bootstraps .venv itself, at the exact versions of constraints.txt; pip runs again only when
# pyproject.toml or constraints.txt changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
WORKDIR ?= runs/digits_lenet5

.PHONY: run test test-all bench bench-cnn bench-lstm bench-gpt bench-kv bench-mfu bench-compile clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/jaxdl --flagfile=experiments/digits_lenet5.flags --workdir=$(WORKDIR)

# Two pytest processes, one after the other (tests/conftest.py): the tests not marked `parallel` on one CPU device,
# over two xdist workers, where tests that share a trained run share a group; then the `parallel` ones in one
# process with 8 fake devices, alone on the cores, so that no device thread of theirs waits behind another test.
# Both run even when the first fails; the exit status is the first failure's. A crashed worker is not replaced:
# xdist 3.8's loadgroup scheduling then waits forever for the crashed worker's tests, so the run would hang, not
# fail. Output is captured at Python's level, not the file descriptors', so what native code (XLA, glibc) writes
# to stderr before it aborts a worker reaches the log instead of dying with the worker's capture file.
PYTEST := $(PY) -m pytest -q --capture=sys --durations=15
ONE_DEVICE := $(PYTEST) -n 2 --dist loadgroup --max-worker-restart=0
EIGHT_DEVICES := JAXDL_TEST_DEVICES=8 $(PYTEST)
# $(1): pytest's options for both; $(2), if given: a path prefix for each process's JUnit XML report, where the
# figures the slow tests record (record_property: accuracies, distances, losses) and every test's time are kept.
define both
	@start=$$(date +%s); \
	$(ONE_DEVICE) $(1) $(if $(2),--junitxml=$(2)-one-device.xml); one=$$?; \
	$(EIGHT_DEVICES) $(1) $(if $(2),--junitxml=$(2)-8-devices.xml); eight=$$?; \
	echo "make $@: $$(( $$(date +%s) - start )) s of pytest in all (one device: exit $$one; 8 devices: exit $$eight)"; \
	exit $$(( one ? one : eight ))
endef

test: $(VENV)/.installed-test
	$(call both,)

test-all: $(VENV)/.installed-test
	$(call both,-m "",runs/test-all)

bench: $(VENV)/.installed
	$(PY) bench/loop_overhead.py

bench-cnn: $(VENV)/.installed
	$(PY) bench/cnn_throughput.py

# make bench-lstm TEXT=path/to/tinyshakespeare.txt
bench-lstm: $(VENV)/.installed
	@test -n "$(TEXT)" || { echo "make bench-lstm needs TEXT=path/to/a/text/file (e.g. tinyshakespeare.txt)"; exit 2; }
	$(PY) bench/lstm_throughput.py --text=$(TEXT)

# make bench-gpt TEXT=path/to/tinyshakespeare.txt [PEER=a Python with bench/peers/requirements.txt installed]
bench-gpt: $(VENV)/.installed
	@test -n "$(TEXT)" || { echo "make bench-gpt needs TEXT=path/to/a/text/file (e.g. tinyshakespeare.txt)"; exit 2; }
	$(PY) bench/gpt_step.py --text=$(TEXT) $(if $(PEER),--peer_python=$(PEER))

# generating 256 tokens with the KV cache against recomputing the prefix
bench-kv: $(VENV)/.installed
	$(PY) bench/kv_cache.py

# GPT-2 small's training step and its model FLOPs utilization (meant for a GPU; on a CPU, pass a small model:
# make bench-mfu ARGS="--model_args=num_layers=2,num_heads=4,width=64,context=64 --dtype=float32")
bench-mfu: $(VENV)/.installed
	$(PY) bench/gpt_mfu.py $(ARGS)

# compile time of a 12-layer GPT scanned and unrolled; its peak memory under each --remat policy
bench-compile: $(VENV)/.installed
	$(PY) bench/gpt_compile.py

clean:
	rm -rf $(VENV) runs
