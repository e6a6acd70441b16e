"""Paracite's chat app: `python app.py` (or `make app`) serves it on http://127.0.0.1:7860 over the
index in `index/` (env RAG_INDEX), built from the shipped default corpus on first start.
Settings come from the environment (RAG_APP_HOST, RAG_APP_PORT, RAG_APP_AUTH, RAG_LLM, …)."""

from __future__ import annotations

import os
import sys

# Offline, before gradio and huggingface_hub are imported: no analytics, no hub lookups.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    """Serve the app until interrupted; a bad setting is one line on stderr and exit code 2."""
    import logging

    from pydantic import ValidationError

    from rag.errors import RagError
    from rag.settings import Settings, unknown_variables

    if unknown := unknown_variables(os.environ):
        print(f"app: error: {unknown[0]} (see the README's settings)", file=sys.stderr)
        return 2
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "RAG_" + "__".join(map(str, first["loc"])).upper()
        print(f"app: error: {name} is not valid: {first['msg']}", file=sys.stderr)
        return 2
    from rag.webapp import launch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")

    print(f"Paracite: http://{settings.app_host}:{settings.app_port} (index {settings.index})", file=sys.stderr)
    try:
        launch(settings)
    except RagError as exc:
        print(f"app: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
