# Two entry points, each doing all its own set-up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Every install is pinned by constraints.txt (refresh it with `make constraints`).
CONSTRAINTS := constraints.txt
EMPLOYEE ?= e-201
MQTT     ?= mqtt://127.0.0.1:1883

.PHONY: demo agent test lint constraints install uninstall bench-lookup bench-ami bench-pop bench-browser bench-console bench-memory clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@echo "make: creating $(VENV) and installing cti-daemon with its test and demo extras (first run: a minute or two)"
	$(PYTHON) -m venv $(VENV)
	@echo "make: upgrading pip in $(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "make: installing '.[test,demo]' pinned by $(CONSTRAINTS) (pip lists what it collects)"
	$(BIN)/python -m pip install --progress-bar off -c $(CONSTRAINTS) -e '.[test,demo]'
	touch $(STAMP)
	@echo "make: $(VENV) is ready"

demo: $(STAMP)
	$(BIN)/cti-daemon demo $(ARGS)

# The reference agent for one employee, e.g. `make agent EMPLOYEE=e-201 MQTT=mqtt://127.0.0.1:15039`
# (the demo prints its broker's URL).
agent: $(STAMP)
	$(BIN)/cti-daemon agent --employee $(EMPLOYEE) --mqtt $(MQTT) $(ARGS)

# Resolve the newest versions the pyproject bounds allow in a scratch venv and pin them all.
constraints:
	@echo "make: resolving '.[test,demo]' in a scratch venv to pin $(CONSTRAINTS) (needs the package index)"
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet --upgrade pip
	.constraints-venv/bin/python -m pip install --quiet '.[test,demo]'
	{ echo "# Pinned by \`make constraints\`: every install (make, CI, scripts/install.sh) uses these versions."; \
	  .constraints-venv/bin/python -m pip freeze --all --exclude cti-daemon --exclude pip; } > $(CONSTRAINTS)
	rm -rf .constraints-venv
	@echo "make: $(CONSTRAINTS) written"

# Production install (root): system user, /opt/cti-daemon, /etc/cti-daemon, /var/lib/cti-daemon, the unit.
# DESTDIR=/scratch installs under a scratch root instead (no systemd, no user needed).
install:
	scripts/install.sh install

# Removes the program and the unit; keeps /etc/cti-daemon and /var/lib/cti-daemon (the data).
uninstall:
	scripts/install.sh uninstall

# The tests are spread over PYTEST_WORKERS processes (pytest-xdist; an idle worker takes tests queued for a
# busy one, so the slow files do not queue behind each other); PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= 3
test: $(STAMP)
	@scripts/ensure-mosquitto
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

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
