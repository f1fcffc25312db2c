# Two entry points, each doing all its own set-up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench-lookup bench-ami bench-pop bench-browser bench-console bench-memory clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cti-daemon demo $(ARGS)

test: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench-ami: $(STAMP)
	$(BIN)/python bench/ami_throughput.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench-pop: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python bench/ring_to_pop.py $(ARGS)

bench-browser: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python bench/ring_to_browser.py $(ARGS)

bench-console: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python bench/console_load.py $(ARGS)

bench-lookup: $(STAMP)
	$(BIN)/python bench/lookup.py $(ARGS)

bench-memory: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python bench/memory.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
