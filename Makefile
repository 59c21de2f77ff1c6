# lenet5_nbdev: the commands a newcomer needs are `make train` and `make test`.
# Everything runs in a virtual environment (.venv) that the first target creates.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# nbdev_test runs notebooks in parallel: 2 workers x 1 torch thread keeps within 2 cores.
TEST_WORKERS ?= 2
TEST_THREADS ?= 1

.PHONY: install train test test-all test-nbs drift site pytest docs readme lab record clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py settings.ini pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

train: install  ## the tutorial recipe: 10 epochs, writes runs/tutorial/{model.safetensors,history.json,curves.png}
	$(BIN)/lenet5_train --out runs/tutorial --seed 0

test: install drift test-nbs site pytest  ## what CI runs

test-all: install drift site  ## adds the `slow` cells (full training runs); like `make test`, it writes no tracked file
	$(BIN)/nbdev_test --n_workers 1 --flags slow --timing
	$(BIN)/python -m pytest tests -q --slow

drift:  ## fails when nbdev_export or nbdev_clean would change a file
	$(BIN)/python tools/check_drift.py

test-nbs:
	OMP_NUM_THREADS=$(TEST_THREADS) $(BIN)/nbdev_test --n_workers $(TEST_WORKERS) --timing

site:  ## renders the site into a scratch copy and checks it against docs/ (skipped without Quarto, unless LENET5_STRICT=1)
	$(BIN)/python tools/site.py

pytest:
	OMP_NUM_THREADS=$(TEST_THREADS) $(BIN)/python -m pytest tests -q

record: install  ## rerun one notebook with LENET5_RECORD=1 so that its `record` cells rewrite results/, weights, images: make record NB=nbs/05_train.ipynb
	@test -n "$(NB)" || { echo "usage: make record NB=nbs/NN_name.ipynb" >&2; exit 2; }
	LENET5_RECORD=1 $(BIN)/python tools/run_nb.py $(NB)
	$(BIN)/nbdev_clean --fname $(NB)

docs: install  ## renders the site into docs/ (commit it: GitHub Pages serves main:/docs) and README.md; needs Quarto
	$(BIN)/python tools/site.py --write

readme: install  ## README.md from nbs/index.ipynb (nbdev_readme; needs Quarto)
	$(BIN)/nbdev_readme

lab: install  ## JupyterLab on nbs/, with this environment as the notebooks' kernel
	$(BIN)/python -m pip install -e ".[lab]"
	cd nbs && ../$(BIN)/jupyter lab

clean:
	rm -rf _proc build dist *.egg-info .pytest_cache
