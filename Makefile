# Two commands on a fresh machine: `make demo` (the diagnosis of the bundled incident) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's promtool and amtool for the tests of deploy/ (unpacked, not installed: .ci/prometheus-tools)
PROMTOOLS := $(VENV)/prometheus/.installed

.PHONY: demo test fuzz browser lab lab-down lab-clean lab-test bench clean

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

# the HTML report's browser tests need Debian's chromium: installed as root with apt (new packages only);
# elsewhere they are skipped, saying why
browser:
	@sh tools/install-browser

test: $(STAMP) $(PROMTOOLS) browser
	$(BIN)/pytest -q
	$(BIN)/mypy
	$(BIN)/ruff check src tests bench

# The fuzz targets (one per parser) for long: `make test` runs each briefly (25 examples). What hypothesis
# finds is kept in .hypothesis/ and replayed first next time. OSTRIAGE_FUZZ_EXAMPLES=N for more or fewer.
fuzz: $(STAMP)
	OSTRIAGE_FUZZ_EXAMPLES=$${OSTRIAGE_FUZZ_EXAMPLES:-5000} $(BIN)/pytest -q tests/fuzz

# The real incident lab (root, Debian 12, cgroup v1 memory controller): see lab/README.md.
# ALLOW_HOST_UPGRADES=1 lets apt upgrade host packages if adding systemd-container/debootstrap needs it.
lab:
	PYTHONPATH=lab $(PYTHON) -m ostlab up $(if $(ALLOW_HOST_UPGRADES),--allow-host-upgrades)
	PYTHONPATH=lab $(PYTHON) -m ostlab scenario seed

lab-down:
	PYTHONPATH=lab $(PYTHON) -m ostlab down

# down, then remove the lab's cache (/var/cache/ostriage-lab, 2–5 GiB: README)
lab-clean:
	PYTHONPATH=lab $(PYTHON) -m ostlab clean

lab-test: $(STAMP)
	$(BIN)/pytest -v -m lab tests/lab -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/memory_model.py
	$(BIN)/python bench/diagnose_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
