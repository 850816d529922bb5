# turfwatch: `make demo` runs the whole pipeline on the built-in demo marketplace,
# `make test` runs the test suite. Both create the virtualenv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package definition or the compiled flagging engine's sources change.
$(STAMP): $(BIN)/python pyproject.toml setup.py $(wildcard crawler/flagging/_*.pyx crawler/flagging/_*.pxd)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/turfwatch demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

benchmark: $(STAMP)
	$(BIN)/python benchmarks/flag_throughput.py
	$(BIN)/python benchmarks/crawl_throughput.py

clean:
	rm -rf $(VENV) data build *.egg-info
