# fia_tf: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fia_tf-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test bench clean

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the test suite.
test: $(STAMP)
	$(PY) -m pytest -q tests

## Engine speed against its roofline (keras.applications ResNet50, random weights).
bench: $(STAMP)
	$(PY) experiments/bench_engine.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
