# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.neurocc-setup

.PHONY: setup demo test test-slow lint typecheck bench clean browser spynnaker

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml tools/patch_lava.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --ignore-requires-python -r requirements-nodeps.txt
	$(BIN)/python tools/patch_lava.py
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# sPyNNaker (PyNN on SpiNNaker) in its own venv: it needs numpy 2. Not needed by `make test`;
# the tests that map with it are skipped without it.
SPY_VENV := build/spynnaker-venv
SPY_STAMP := $(SPY_VENV)/.neurocc-spynnaker

spynnaker: $(SPY_STAMP)

$(SPY_STAMP): requirements-spynnaker.txt
	test -x $(SPY_VENV)/bin/python || $(PYTHON) -m venv $(SPY_VENV)
	$(SPY_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-spynnaker.txt
	touch $(SPY_STAMP)

demo: setup
	$(BIN)/neurocc demo

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/python tools/typecheck.py

# Debian's chromium for the report page's browser test (tests/reports): installed with apt-get
# (as root, as CI runs) only when missing, so it costs nothing once there.
browser:
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: lint typecheck browser
	$(BIN)/python -m pytest -m "not slow"

test-slow: setup spynnaker
	$(BIN)/python -m pytest -m slow

bench: setup
	$(BIN)/python benchmarks/loihi_sim.py
	$(BIN)/python benchmarks/artifact.py

clean:
	rm -rf $(VENV) build *.egg-info
