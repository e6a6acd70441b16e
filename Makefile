# Two commands do everything on a fresh machine: `make app` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
# llama-cpp-python compiles llama.cpp on install (5-7 min on 2 cores, then cached by pip): a portable
# CPU build; the native one crashed on AVX-512/AMX CPUs.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_OPENMP=OFF

.PHONY: setup app test test-fast bench lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed

app: setup
	$(PY) app.py

test: setup  ## every test, slow ones included (what CI runs)
	$(PY) -m ruff check rag tests evals app.py
	$(PY) -m pytest -m "slow or not slow"

test-fast: setup  ## the default quick run
	$(PY) -m pytest

bench: setup
	$(PY) evals/bench_parse.py

lint: setup
	$(PY) -m ruff check rag tests evals app.py
