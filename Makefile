# Two commands on a fresh machine: `make demo` (the diagnosis of the bundled incident) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's promtool and amtool for the tests of deploy/ (unpacked, not installed: .ci/prometheus-tools)
PROMTOOLS := $(VENV)/prometheus/.installed

.PHONY: demo test lab lab-down lab-test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# exit codes 1 and 2 are the diagnosis (warning, critical), not a failure of the demo
demo: $(STAMP)
	$(BIN)/ostriage diagnose examples/seed-incident || test $$? -le 2

$(PROMTOOLS): | $(STAMP)
	.ci/prometheus-tools $(VENV)/prometheus

test: $(STAMP) $(PROMTOOLS)
	$(BIN)/pytest -q
	$(BIN)/mypy
	$(BIN)/ruff check src tests bench

# The real incident lab (root, Debian 12, cgroup v1 memory controller): see lab/README.md
lab:
	PYTHONPATH=lab $(PYTHON) -m ostlab up
	PYTHONPATH=lab $(PYTHON) -m ostlab scenario seed

lab-down:
	PYTHONPATH=lab $(PYTHON) -m ostlab down

lab-test: $(STAMP)
	$(BIN)/pytest -v -m lab tests/lab -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/memory_model.py
	$(BIN)/python bench/diagnose_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
