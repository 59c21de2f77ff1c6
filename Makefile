# lenet5_nbdev: the commands a newcomer needs are `make train` and `make test`.
# Everything runs in a virtual environment (.venv) that the first target creates.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# nbdev_test runs notebooks in parallel: 2 workers x 1 torch thread keeps within 2 cores.
TEST_WORKERS ?= 2
TEST_THREADS ?= 1
# nbdev_proc_nbs only needs *a* quarto on PATH (else it tries to install one); see tools/noquarto.
QUARTO_PATH := $(if $(shell command -v quarto),$(PATH),$(CURDIR)/tools/noquarto:$(PATH))

.PHONY: install train test test-all test-nbs test-slow drift docs-proc pytest readme record clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py settings.ini pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

train: install  ## the tutorial recipe: 10 epochs, writes runs/tutorial/{model.safetensors,history.json,curves.png}
	$(BIN)/lenet5_train --out runs/tutorial --seed 0

test: install drift test-nbs docs-proc pytest  ## what CI runs

test-all: install drift docs-proc  ## adds the `slow` cells (full training runs); like `make test`, it writes no tracked file
	$(BIN)/nbdev_test --n_workers 1 --flags slow --timing
	$(BIN)/python -m pytest tests -q --slow

drift:  ## fails when nbdev_export or nbdev_clean would change a file
	$(BIN)/python tools/check_drift.py

test-nbs:
	OMP_NUM_THREADS=$(TEST_THREADS) $(BIN)/nbdev_test --n_workers $(TEST_WORKERS) --timing

docs-proc:  ## prepares what Quarto renders (_proc/); tests/test_docs.py checks it
	PATH="$(QUARTO_PATH)" $(BIN)/nbdev_proc_nbs

pytest:
	OMP_NUM_THREADS=$(TEST_THREADS) $(BIN)/python -m pytest tests -q

record: install  ## rerun one notebook with LENET5_RECORD=1 so that its `record` cells rewrite results/, weights, images: make record NB=nbs/05_train.ipynb
	@test -n "$(NB)" || { echo "usage: make record NB=nbs/NN_name.ipynb" >&2; exit 2; }
	LENET5_RECORD=1 $(BIN)/python tools/run_nb.py $(NB)
	$(BIN)/nbdev_clean --fname $(NB)

readme:  ## README.md from nbs/index.ipynb (nbdev_readme needs Quarto)
	$(BIN)/python tools/make_readme.py

clean:
	rm -rf _proc docs build dist *.egg-info .pytest_cache
