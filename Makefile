# The commands in the README. Every target sets up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz soak format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Bulletin and its dependencies into $(VENV) (log: $(VENV)/install.log)..."
	@$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]' > $(VENV)/install.log 2>&1 \
		|| { echo "Install failed; the last lines of $(VENV)/install.log:"; tail -n 20 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

# `make run` says what it will do first, then installs (first time only), then does it.
run:
	@if [ -n "$${DISCORD_TOKEN:-}" ]; then \
		echo "DISCORD_TOKEN is set: starting the Bulletin Discord bot (bulletin run)."; \
	else \
		echo "DISCORD_TOKEN is not set: starting the console demo (bulletin demo); Ctrl-C stops it."; \
	fi
	@$(MAKE) --no-print-directory -s $(STAMP)
	@if [ -n "$${DISCORD_TOKEN:-}" ]; then exec $(BIN)/bulletin run; else exec $(BIN)/bulletin demo; fi

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	@$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev,bench]' >> $(VENV)/install.log 2>&1 \
		|| echo "(feedparser/fastfeedparser could not be installed: their comparison rows are skipped)"
	$(BIN)/python -m bench

# Long hypothesis runs of the fuzz strategies (make test runs them briefly).
fuzz: $(STAMP)
	BULLETIN_FUZZ=1 $(BIN)/python -m pytest tests/fuzz

# Long crash-and-restart runs (make test runs a few iterations).
soak: $(STAMP)
	BULLETIN_SOAK=1 $(BIN)/python -m pytest tests/faults tests/discord/e2e/test_fleet_postgres.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build *.egg-info
