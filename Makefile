# Two entry points: `make demo` and `make test`; both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The demo needs only the runtime dependencies; the tests need the `dev` extra.
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test test-all test-thorough lint format docs bench clean

$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	MPLBACKEND=Agg $(BIN)/sweepjax demo

# SWEEPJAX_HYPOTHESIS: fast (a quarter of each property test's examples) or
# thorough (all of them): tests/conftest.py.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SWEEPJAX_HYPOTHESIS=fast $(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder -m "not heavy"

# The end-to-end runs that do not fit make test's four minutes (conftest.HEAVY);
# CI runs both tiers.
test-all: $(STAMP)
	SWEEPJAX_HYPOTHESIS=fast $(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder -m heavy

test-thorough: $(STAMP)
	JAX_DISABLE_MOST_OPTIMIZATIONS=0 SWEEPJAX_HYPOTHESIS=thorough $(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The user guide and the API reference (docs/reference, from the docstrings)
# as one site in site/; --strict makes any warning an error.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir site

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis sweepjax-demo site build dist
