"""Repairs of extracted text: OCR damage, hyphenation, stray footnote markers, whitespace."""

from __future__ import annotations

import re
from collections import Counter

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "\u00a0": " ", "\u00ad": ""})
REF_TOKEN = re.compile(r" ?\ue000(\d+)\ue001")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def clean_line(raw: str, *, ocr: bool, double_spaced: bool) -> str:
    """One line with ligatures undone, OCR-split digits rejoined and whitespace collapsed."""
    line = raw.translate(_LIGATURES).rstrip()
    if ocr:
        line = _join_split_digits(line, double_spaced)
    return " ".join(line.split())


def is_double_spaced(text: str) -> bool:
    """True for OCR output that separates words by two spaces (then one space splits a token)."""
    doubles = text.count("  ")
    singles = len(re.findall(r"(?<! ) (?! )", text))
    return doubles > singles


def _join_split_digits(line: str, double_spaced: bool) -> str:
    if double_spaced:  # "1 9  July  20 1 9": one space inside a token, two between words
        return re.sub(r"(?<=\d) (?=\d)", "", line)
    # Single-spaced OCR: rejoin a run of digit groups only when one of them is a lone digit ("20 1 9").
    # A run touching a page counter or a job number ("1/2 20-09860") is page furniture, left alone.
    return re.sub(r"(?<![\d/-])\d+(?: \d+)+(?![\d/-])", _join_digit_run, line)


def _join_digit_run(m: re.Match[str]) -> str:
    parts = m.group(0).split(" ")
    return "".join(parts) if any(len(p) == 1 for p in parts) else m.group(0)


def vocabulary(text: str) -> Counter[str]:
    """Word counts of a whole document, used to decide hyphenation and OCR letter repairs."""
    return Counter(w.lower() for w in _WORD.findall(text))


def join_lines(lines: list[str], vocab: Counter[str]) -> str:
    """Join a unit's lines, resolving line-end hyphens ("counter¬" + "terrorism")."""
    parts: list[str] = []
    for line in lines:
        if not line:
            continue
        prev = parts[-1] if parts else ""
        m = re.search(r"([^\W\d_]+) ?[-¬]$", prev)
        if m and line[0].isalpha():
            second = re.match(r"[^\W\d_]*", line).group(0)  # type: ignore[union-attr]
            joined = (m.group(1) + second).lower()
            keep = not (vocab[joined] > 0 and vocab[f"{m.group(1)}-{second}".lower()] == 0)
            parts[-1] = prev[: m.start()] + m.group(1) + ("-" if keep else "") + line
        elif prev.endswith(("/", "_")):  # a web address broken at the line end
            parts[-1] = prev + line
        else:
            parts.append(line)
    return " ".join(parts)


def finish(text: str, *, ocr: bool, vocab: Counter[str]) -> str:
    """Final repairs of a unit's joined text (footnote reference placeholders removed)."""
    text = REF_TOKEN.sub("", text).replace("¬", "-")
    text = re.sub(r"(?<=[^\W\d_]) -(?=[^\W\d_])", "-", text)  # "money -laundering"
    text = re.sub(r"(?<=[^\W\d_]) - (?=[a-z])", "-", text)  # "proceeds - generating"
    if ocr:
        text = text.replace("^", "")
        text = re.sub(r"(?<=[.,;:)])['‘’](?=\s|$)", "", text)  # stray footnote mark: "(2019).'"
        text = re.sub(r"(?<=s) ’(?=[a-z]{3})", "’ ", text)  # "courts ’jurisdiction"
        text = _fix_misread_letters(text, vocab)
    text = re.sub(r"(?<=\w) ’(?=\w)", "’", text)  # "Da ’esh", "world ’s"
    text = re.sub(r"(?<=[^\W\d_]) (?=[.,;:](?:\s|$))", "", text)  # "System ."
    return " ".join(text.split())


def _fix_misread_letters(text: str, vocab: Counter[str]) -> str:
    # OCR reads "u" as "n" ("prosecntion", "secnrity"): fix a word seen once whose variant is common.
    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if vocab[word.lower()] > 1 or "n" not in word:
            return word
        for i, ch in enumerate(word):
            if ch == "n":
                variant = word[:i] + "u" + word[i + 1 :]
                if vocab[variant.lower()] >= 2:
                    return variant
        return word

    return _WORD.sub(fix, text)


# a paragraph number as OCR may misread it at a line start: "l." for 1, "2O." for 20, "20-" for "20."
_MISREAD_START = re.compile(r"([0-9lI|O]{1,3}) ?[.,\-] +(?=\S)")
_CLEAN_START = re.compile(r"(\d{1,3}) ?\. +(?=\S)")
_OCR_NUMBER = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0"})


def repair_paragraph_numbers(lines: list[str]) -> list[str]:
    """Paragraph numbers misread by OCR at line starts ("l." for 1., "20-" for 20.), repaired only where
    the clean numbers around prove them: the nearest clean number before is one less (or there is none
    and it reads 1) and the nearest clean number after is one more (or there is none)."""
    clean = [(i, int(m.group(1))) for i, t in enumerate(lines) if (m := _CLEAN_START.match(t))]
    out = list(lines)
    for i, text in enumerate(lines):
        m = _MISREAD_START.match(text)
        if m is None or _CLEAN_START.match(text) or not re.search(r"[0-9lI]", m.group(1)):
            continue
        digits = m.group(1).translate(_OCR_NUMBER)
        if not digits.isdigit() or digits.startswith("0"):
            continue
        value = int(digits)
        before = next((n for j, n in reversed(clean) if j < i), None)
        after = next((n for j, n in clean if j > i), None)
        if (
            (before == value - 1 or (before is None and value == 1))
            and after in (value + 1, None)
            and (before, after) != (None, None)
        ):
            out[i] = f"{value}. {text[m.end() :]}"
    return out
