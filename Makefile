# README's two commands: `make demo` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
OUT    := out

export WANDB_MODE ?= offline
export WANDB_SILENT ?= true
export WANDB_DISABLE_GIT ?= true
export MPLBACKEND ?= Agg

# The Colab stand-in (tests/colab/README.md): Colab's pinned packages in a kernel venv of their own, and
# Colab's pinned classic frontend (notebook 6.5.7, widgetsnbextension 3.6.10) in another. Each is rebuilt
# only when the pins, the tools list or pyproject.toml change.
COLAB_PINS := tests/colab/colab-runtime-2026-08.txt
COLAB      := .venv-colab
COLAB_PY   := $(COLAB)/bin/python
COLAB_STAMP := $(COLAB)/.installed-$(shell cat $(COLAB_PINS) tests/colab/test-tools.txt tests/colab/kernel.json.in pyproject.toml | sha1sum | cut -c1-12)
COLAB_FE   := .venv-colab-frontend
COLAB_FE_STAMP := $(COLAB_FE)/.installed-$(shell cat $(COLAB_PINS) tests/colab/frontend-requirements.txt | sha1sum | cut -c1-12)
# The tests that run again on the stand-in: the core and the panels (tests/colab/README.md says why these).
COLAB_TESTS := tests/colab $(shell cat tests/colab/suite.txt 2>/dev/null)

.PHONY: demo test test-colab lint venv colab-venv browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a CUDA build.
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[torch,media,sweeps,integrations,test,dev]"
	touch $(STAMP)

venv: $(STAMP)

# Colab's setuptools pin is dropped: the CPU torch on this disk needs a newer setuptools than 75.2.
$(COLAB_STAMP): $(COLAB_PINS) tests/colab/test-tools.txt tests/colab/kernel.json.in pyproject.toml
	rm -rf $(COLAB) && $(PYTHON) -m venv $(COLAB)
	$(COLAB_PY) -m pip install -q --upgrade pip
	$(COLAB_PY) -m pip install -q "torch==2.13.0"
	grep -v '^setuptools==' $(COLAB_PINS) > $(COLAB)/pins.txt
	$(COLAB_PY) -m pip install -q -r $(COLAB)/pins.txt
	$(COLAB_PY) -m pip install -q -c $(COLAB)/pins.txt -r tests/colab/test-tools.txt
	# The stand-in kernel: Colab's packages, and google.colab (tests/colab/standin) imported at start.
	mkdir -p $(COLAB)/share/jupyter/kernels/colab-standin
	sed -e 's|@PYTHON@|$(abspath $(COLAB_PY))|' -e 's|@STANDIN@|$(abspath tests/colab/standin)|' \
	  tests/colab/kernel.json.in > $(COLAB)/share/jupyter/kernels/colab-standin/kernel.json
	touch $(COLAB_STAMP)

$(COLAB_FE_STAMP): $(COLAB_PINS) tests/colab/frontend-requirements.txt
	rm -rf $(COLAB_FE) && $(PYTHON) -m venv $(COLAB_FE)
	$(COLAB_FE)/bin/python -m pip install -q --upgrade pip
	grep -v '^setuptools==' $(COLAB_PINS) > $(COLAB_FE)/pins.txt
	$(COLAB_FE)/bin/python -m pip install -q -c $(COLAB_FE)/pins.txt -r tests/colab/frontend-requirements.txt
	touch $(COLAB_FE_STAMP)

colab-venv: $(COLAB_STAMP) $(COLAB_FE_STAMP)

# Chromium for the real-browser test comes from Debian's packages (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; the browser test will fail"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check nbwandb tests benchmarks conftest.py
	$(VENV)/bin/ruff format --check nbwandb tests benchmarks conftest.py
	# mypy's settings are in pyproject.toml; tests/typing is a user's script, checked strictly.
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict tests/typing

test: $(STAMP) colab-venv browser lint
	# The examples in the docstrings run too (conftest.py gives them an offline run).
	$(VENV)/bin/python -m pytest -q --doctest-modules nbwandb
	$(VENV)/bin/python -m pytest -q tests --nbval-lax notebooks
	$(MAKE) test-colab

# On the Colab stand-in: nbwandb is uninstalled first, so the tutorials' install cell installs it
# into Colab's packages as a user's first cell would (tests/colab/test_install_cell.py).
# wandb 0.28.1 has no `wandb leet`: the cross-checks read its files with the main venv's (tests/leet.py).
test-colab: $(STAMP) colab-venv
	$(COLAB_PY) -m pip uninstall -y -q nbwandb 2>/dev/null || true
	NBWANDB_SOURCE="file://$(CURDIR)" NBWANDB_LEET_CLI="$(abspath $(VENV))/bin/wandb" $(COLAB_PY) -m pytest -q $(COLAB_TESTS) \
	  --nbval-lax --nbval-kernel-name colab-standin notebooks

demo: $(STAMP)
	$(PY) -m nbwandb.cli demo --out $(OUT)

clean:
	rm -rf $(VENV) $(COLAB) $(COLAB_FE) $(OUT) wandb
