# The two commands of the README: `make demo` and `make test`. Everything else is set-up.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
# pip warns about every local mirror folder a package is not in; that is noise, not news.
QUIET := 2>&1 | { grep -vE "^WARNING: Location 'file:|BuildBackendWarning|^\s*(!!|\*+|corresp|return|with strategy|Please|By 20|See https|[*]{5})" || true; }
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean starter

setup: $(STAMP)

# Re-runs only when pyproject.toml changes, so a second `make setup` takes seconds.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" $(QUIET)
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(QUIET)
	# musicnn's trained taggers, used as a weight container only: its declared requirements
	# (TensorFlow 1.x, old librosa) cannot install on Python 3.11 and are not needed.
	$(BIN)/python -m pip install --quiet --no-deps musicnn==0.1.0 $(QUIET)
	@bash tools/system-deps.sh || true
	@touch $(STAMP)

demo: setup
	$(BIN)/mvpt demo

# Rebuild the starter model in resources/starter (about an hour on two busy cores; the world stays in /tmp/starter)
starter: setup
	nice -n 10 $(BIN)/mvpt starter build --root /tmp/starter

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check engine training mvpt_desktop tests bench

bench: setup
	$(BIN)/python bench/media.py

clean:
	rm -rf $(VENV) build *.egg-info
