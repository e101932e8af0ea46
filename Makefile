# Every target installs what it needs: a fresh clone runs `make test` or `make demo` directly.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make demo` needs the core alone (msgspec): its own small environment, ready in seconds.
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed

.PHONY: install prerequisites test lint codegen codegen-check pytest demo bench clean

# The package with every extra, editable, plus the pinned dev group (PEP 735; pip >= 25.1).
$(STAMP): pyproject.toml
	@$(PYTHON) scripts/check_prerequisites.py python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[serve,redis,otel]' --group dev
	touch $(STAMP)

install: $(STAMP)

# Says what is missing (Python >= 3.11, node, npm) before anything is installed or run.
prerequisites:
	@$(PYTHON) scripts/check_prerequisites.py python node npm

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

codegen: $(STAMP)
	$(BIN)/python codegen/generate.py
	$(BIN)/python codegen/reference.py

codegen-check: $(STAMP)
	$(BIN)/python codegen/generate.py --check
	$(BIN)/python codegen/reference.py --check

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: prerequisites
	$(MAKE) --no-print-directory lint codegen-check pytest

$(DEMO_STAMP): pyproject.toml
	@$(PYTHON) scripts/check_prerequisites.py python
	@echo "make demo: creating $(DEMO_VENV) with iii-core and msgspec only (first run)"
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --progress-bar on --no-input -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	@$(DEMO_VENV)/bin/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python -m bench.run --record
	$(BIN)/python -m bench.ws_load --record

clean:
	rm -rf $(VENV) $(DEMO_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .benchmarks
