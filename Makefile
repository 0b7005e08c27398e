# Two commands: `make demo` (install, then run the demo) and `make test` (every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-routing bench-kpis clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/centralita demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

bench-routing: $(STAMP)
	$(BIN)/python benchmarks/routing.py
	$(BIN)/python benchmarks/desk_sockets.py

bench-kpis: $(STAMP)
	$(BIN)/python benchmarks/kpi_dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
