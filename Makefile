# One way to run everything. A fresh machine needs only python3 (>= 3.10) with venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What `personalize demo` needs: the runtime plus the demo extra (Starlette, uvicorn).
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

# Everything: all extras plus test, lint and benchmark tools.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	# Browser tests drive Debian's Chromium (never `playwright install`); CI runs as root.
	if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi
	# The http benchmark's load generator (benchmarks/http.py), Debian's wrk, and the
	# instructions benchmark's counter (benchmarks/instructions.py), valgrind.
	if [ ! -x /usr/bin/wrk ] || [ ! -x /usr/bin/valgrind ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk valgrind; \
	fi
	touch $@ $(VENV)/.installed-demo

install: $(VENV)/.installed-dev

# The example Starlette shop on http://127.0.0.1:8000/ (Ctrl+C stops it).
demo: $(VENV)/.installed-demo
	$(BIN)/personalize demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The API contract check lives beside the project when it is checked out in its workspace.
CONTRACT := ../shared/tools/check_contract.py

test: $(VENV)/.installed-dev lint
	if [ -f $(CONTRACT) ]; then $(BIN)/python $(CONTRACT); fi
	$(BIN)/pytest

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
