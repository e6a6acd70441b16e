"""Conversations kept server-side with their evidence (SQLite beside the index), so that answers and
their citations come back after a reload, and "wrong citation" flags that become gold-question
candidates for the evals."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.types import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL REFERENCES conversations(id),
    answer TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY, turn INTEGER NOT NULL REFERENCES turns(id), reason TEXT NOT NULL,
    created REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Turn:
    """One stored question and its answer."""

    id: int
    conversation: int
    answer: Answer


@dataclass(frozen=True, slots=True)
class Conversation:
    """A stored conversation: its id, owner and title (the first question)."""

    id: int
    owner: str
    title: str
    created: float


class History:
    """The conversations of every user of one server (rows carry their owner: the login, or "local")."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection, shared by the server's worker threads
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def start(self, owner: str, title: str) -> int:
        """A new conversation's id."""
        with self._tx() as db:
            return _rowid(
                db.execute(
                    "INSERT INTO conversations (owner, title, created) VALUES (?, ?, ?)",
                    (owner, title[:120], time.time()),
                )
            )

    def add(self, conversation: int, answer: Answer) -> int:
        """Store `answer` in `conversation`; the turn's id."""
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO turns (conversation, answer, created) VALUES (?, ?, ?)",
                (conversation, json.dumps(answer.to_json(), ensure_ascii=False), time.time()),
            )
            return _rowid(row)

    def conversations(self, owner: str) -> list[Conversation]:
        """`owner`'s conversations, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, owner, title, created FROM conversations WHERE owner = ? ORDER BY id DESC", (owner,)
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def turns(self, conversation: int, owner: str) -> list[Turn]:
        """The turns of `conversation`, oldest first (none when it is not `owner`'s)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT t.id, t.conversation, t.answer FROM turns t JOIN conversations c "
                "ON c.id = t.conversation WHERE t.conversation = ? AND c.owner = ? ORDER BY t.id",
                (conversation, owner),
            ).fetchall()
        return [Turn(tid, cid, Answer.from_json(json.loads(text))) for tid, cid, text in rows]

    def turn(self, turn: int, owner: str) -> Turn | None:
        """One turn of `owner`'s, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT t.id, t.conversation, t.answer FROM turns t JOIN conversations c "
                "ON c.id = t.conversation WHERE t.id = ? AND c.owner = ?",
                (turn, owner),
            ).fetchone()
        return Turn(row[0], row[1], Answer.from_json(json.loads(row[2]))) if row else None

    def flag(self, turn: int, reason: str) -> None:
        """Record that a reader found something wrong with a turn's answer (e.g. "wrong citation")."""
        with self._tx() as db:
            db.execute("INSERT INTO flags (turn, reason, created) VALUES (?, ?, ?)", (turn, reason, time.time()))

    def flagged(self) -> list[tuple[Turn, str]]:
        """Every flagged turn with its reason, oldest flag first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT t.id, t.conversation, t.answer, f.reason FROM flags f "
                "JOIN turns t ON t.id = f.turn ORDER BY f.id"
            ).fetchall()
        return [(Turn(tid, cid, Answer.from_json(json.loads(text))), reason) for tid, cid, text, reason in rows]


def _rowid(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:  # an INSERT always sets it
        raise RuntimeError("SQLite returned no row id for an insert")
    return cursor.lastrowid


def gold_candidate(turn: Turn, reason: str) -> dict[str, object]:
    """A flagged turn as a line for an evals gold file: the question and its document, with the cited
    paragraphs listed as flagged so that a curator can write the right ones into `paragraphs`."""
    answer = turn.answer
    units = answer.citations or answer.see_also or answer.retrieved
    return {
        "id": f"flag-{turn.id}",
        "doc": units[0].doc if units else "",
        "question": answer.question,
        "paragraphs": [],
        "key_facts": [],
        "type": "factual",
        "flagged": {
            "reason": reason,
            "answer": answer.text,
            "backend": answer.backend,
            "citations": [c.para for c in answer.citations],
            "retrieved": [c.para for c in answer.retrieved],
        },
    }
