"""Using `rag` as a library changes nothing in the caller's process (slow: the real model): no
environment variables written, autograd left as it was, torch and BLAS threads as they were, no
output, no logging handlers — users embed `rag.retriever()` in their own chains. (The heavy
dependencies are imported first: what they do on import is theirs.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import MODELS, ROOT, un_text

pytestmark = pytest.mark.slow

CHILD = r"""
import json, logging, os, sys
import torch
from threadpoolctl import threadpool_info

def state():
    return {"env": dict(os.environ), "grad": torch.is_grad_enabled(), "threads": torch.get_num_threads(),
            "blas": sorted((i["internal_api"], i["filepath"], i["num_threads"]) for i in threadpool_info()),
            "handlers": [len(logging.getLogger().handlers), len(logging.getLogger("rag").handlers)]}

import faiss, sentence_transformers, transformers  # what they do on import is theirs, not rag's
torch.set_num_threads(2)
before = state()
import rag
settings = rag.Settings(index=sys.argv[1], corpus=sys.argv[2])
hits = rag.search("How many Member States contributed?", settings=settings)
answer = rag.answer("How many Member States contributed?", settings=settings)
documents = rag.retriever(settings=settings).invoke("Which borders are porous?")
after = state()
changed = sorted(k for k in before if before[k] != after[k])
env = sorted(set(before["env"].items()) ^ set(after["env"].items()))
blas = [before["blas"], after["blas"]] if "blas" in changed else []
print(json.dumps({"changed": changed, "env": env, "blas": blas, "hits": [h.unit.para for h in hits],
                  "answer": answer.text, "documents": len(documents)}))
"""


def test_library_use_leaves_the_process_as_it_was(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.txt").write_text(
        un_text(
            "S/2099/1",
            [
                "The present report is informed by contributions from 50 Member States and 15 United Nations entities.",
                "Member States described the smuggling of migrants and trafficking in firearms across porous borders.",
            ],
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "HF_", "TOKENIZERS_"))}
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "index"), str(corpus)],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path), **MODELS},
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["hits"][0] == "1" and "50 Member States" in result["answer"] and result["documents"] > 0
    assert result["changed"] == [], result  # environment, grad mode, torch and BLAS threads, logging handlers
    assert run.stderr == ""  # no progress bars, no prints: the library logs, the caller decides what to show
