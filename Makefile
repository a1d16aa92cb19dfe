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

.PHONY: demo test lint venv browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a CUDA build.
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[torch,media,sweeps,integrations,test,dev]"
	touch $(STAMP)

venv: $(STAMP)

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

test: $(STAMP) browser lint
	# The examples in the docstrings run too (conftest.py gives them an offline run).
	$(VENV)/bin/python -m pytest -q --doctest-modules nbwandb
	$(VENV)/bin/python -m pytest -q tests --nbval-lax notebooks

demo: $(STAMP)
	$(PY) -m nbwandb.cli demo --out $(OUT)

clean:
	rm -rf $(VENV) $(OUT) wandb
