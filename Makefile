# Each target bootstraps .venv itself, at the exact versions of constraints.txt; pip runs again only when
# pyproject.toml or constraints.txt changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
WORKDIR ?= runs/digits_lenet5

.PHONY: run test test-all bench bench-cnn bench-lstm clean

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

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=15

test-all: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=15 -m ""

bench: $(VENV)/.installed
	$(PY) bench/loop_overhead.py

bench-cnn: $(VENV)/.installed
	$(PY) bench/cnn_throughput.py

# make bench-lstm TEXT=path/to/tinyshakespeare.txt
bench-lstm: $(VENV)/.installed
	@test -n "$(TEXT)" || { echo "make bench-lstm needs TEXT=path/to/a/text/file (e.g. tinyshakespeare.txt)"; exit 2; }
	$(PY) bench/lstm_throughput.py --text=$(TEXT)

clean:
	rm -rf $(VENV) runs
