"""Settings: each shipped embedding model gets its own tuned values unless the user sets them."""

from __future__ import annotations

import pytest

from rag.settings import MINILM, Retrieval, Settings


def test_the_default_model_has_no_answer_gate_and_its_own_rank_prior():
    settings = Settings()
    assert settings.embed_model == "all-mpnet-base-v2"
    assert settings.retrieval.rank_prior == 0.05
    assert (settings.answering.min_evidence, settings.answering.min_margin) == (0, 0)


def test_minilm_brings_its_own_tuned_values(monkeypatch: pytest.MonkeyPatch):
    settings = Settings(embed_model=MINILM)
    assert settings.retrieval.rank_prior == 0.15
    assert (settings.answering.min_evidence, settings.answering.min_margin) == (1.7, 0.08)
    assert settings.retrieval.word_match == Settings().retrieval.word_match  # the rest is shared
    monkeypatch.setenv("RAG_EMBED_MODEL", MINILM)
    monkeypatch.setenv("RAG_RETRIEVAL__RANK_PRIOR", "0.3")
    from_env = Settings()
    assert from_env.retrieval.rank_prior == 0.3  # a value the user sets wins
    assert from_env.answering.min_evidence == 1.7
    monkeypatch.setenv("RAG_RETRIEVAL__RANK_PRIOR", "abc")
    with pytest.raises(ValueError, match="rank_prior"):
        Settings()


def test_an_explicit_group_wins_whole():
    settings = Settings(embed_model=MINILM, retrieval=Retrieval(rank_prior=0.2))
    assert settings.retrieval.rank_prior == 0.2
    assert settings.answering.min_evidence == 1.7
