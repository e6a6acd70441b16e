"""What kind of answer a question asks for, and whether a text holds one: a figure for "how many X"
(a number next to X), an amount for "how much money", a date for "when", a country for "which State".
A passage on the topic that lacks the kind of answer asked for does not answer the question."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from rag.lexical import terms
from rag.sentences import split_sentences
from rag.types import Sentence

Kind = Literal["count", "money", "date", "country"]

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_COUNT_Q = re.compile(
    r"\b(?:how many(?: of(?: the| these| those| its)?)?|how much|what (?:number|percentage|proportion|share) of"
    r"|what is the (?:number|total) of)\s+((?:[\w'’-]+\s+){0,4})",
    re.I,
)
_MONEY_Q = re.compile(
    r"\bhow much (?:money|funding|cash)\b|\bbudget\b|\bcost\b"
    r"|\bhow much .*\b(?:earn|spend|raise|pay)\b",
    re.I,
)
# a budget the question is framed by is not what it asks for ("How many posts are cut under its 2025 budget?")
_FRAME = re.compile(r"\b(?:under|within)\s+(?:its|the|their|this)\s+(?:\d{4}\s+)?budget\b", re.I)
_DATE_Q = re.compile(r"^\s*when\b|\b(?:what|which|in what) (?:year|date|month)\b|\bby when\b", re.I)
_COUNTRY_Q = re.compile(
    r"^\s*(?:in |from |by )?(?:which|what) "
    r"(?:(?!(?:do|does|did|is|are|was|were|has|have|had|can|could|should|would|will|must"
    r"|may|might)\b)\w+ ){0,2}"
    r"(?:member states?|states?|countr(?:y|ies)|governments?|nations?)\b",
    re.I,
)
_STOP = re.compile(
    r"^(?:is|are|was|were|did|do|does|have|has|had|in|of|for|to|by|from|during|according|will"
    r"|would|can|could|the|a|an|took|take|taken|attended|joined|participated|died|remain|remained"
    r"|each|them|these|those)$",
    re.I,
)

_SYMBOLS = re.compile(r"\b[A-Z]{1,6}(?:/[A-Za-z0-9.\-]+)+|\bresolutions? \d+ \(\d{4}\)|\(\d{4}\)|\b\d+/\d+\b")
_NUMBER = re.compile(
    r"(?<![\w.])(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|"
    r"hundreds?|thousands?|millions?|billions?|twenty|thirty|forty|fifty)(?![\w])",
    re.I,
)
# "Few States reported …" answers "how many States …" too, when the counted noun follows the word
_QUANTIFIER = re.compile(r"few|several|many|most|numerous|all|no|none", re.I)
# what is counted may be called by any word of its group: people, or countries
_SYNONYMS = (terms("people persons individuals"), terms("countries states nations governments"))
_PLURAL = re.compile(r"[^su]s$|ies$", re.I)
_IRREGULAR = frozenset({"people", "children", "men", "women", "staff", "personnel", "police", "military"})
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:million|billion)?\s?(?:dollars|euros|USD)\b|\bUS\$")
_DATE = re.compile(rf"\b(?:{_MONTHS})\b|\b(?:19|20)\d\d\b")
_MONTH = re.compile(rf"^(?:{_MONTHS})\W*$")
_PERCENT = re.compile(r"\d\s?(?:%|per ?cent)", re.I)
_FRACTION = re.compile(
    r"\b(?:half|(?:a|one|two) (?:third|quarter)s?|three quarters|majority|\d+ (?:in|out of|of) (?:every )?\d+)\b", re.I
)
_SHARE_Q = re.compile(r"\b(?:percentage|per ?cent|proportion|share|fraction|rate)\b", re.I)
_APOSTROPHE = re.compile(r"[’‘]")
_UNITS = ["two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_VALUE = {w: i for i, w in enumerate(_UNITS, 2)} | {w: i for i, w in enumerate(_TEENS, 10)}
_VALUE |= {w: 10 * i for i, w in enumerate(_TENS, 2)} | {"one": 1}
# a number written out: "two", "ten", "twenty-five" ("one" alone is left out: "one of the States")
_NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(_TENS)})(?:[-\s]+(one|{'|'.join(_UNITS)}))?|({'|'.join(_UNITS + _TEENS)}))\b", re.I
)


# A name: a capitalised word with a lower-case letter ("Lebanon", "Da'esh") or a code with digits
# ("COVID-19"); acronyms are left out (a report writes "United Nations" where a question says "UN").
_NAME = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*|\b[A-Z]+-\d+\b")
# Who writes or adopts the documents: named in questions ("according to the Secretary-General") but
# not necessarily in the text (reports speak in the first person).
_AUTHORS = frozenset({"secretary-general", "secretary", "general", "council", "security", "assembly"})
# a name the question says something is in or from: a place ("in Gaza"), not a group ("Al-Shabaab fighters")
_LOCATED = re.compile(r"\b(?:in|from|across|within|throughout|inside)\s+(?:the\s+)?([A-Z][\w'’-]*[a-z][\w'’-]*)")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def names(question: str) -> list[str]:
    """The names `question` asks about (its first word aside: questions start with a capital)."""
    first = re.match(r"\W*[\w'’-]+", question)
    rest = question[first.end() :] if first else question
    return [n for n in dict.fromkeys(_NAME.findall(rest)) if n.lower() not in _AUTHORS]


@dataclass(frozen=True, slots=True)
class Expectation:
    """The kind of answer asked for; for counts, the stems of what is counted (for money, "budget" when a
    budget is asked for) and whether a share (percentage, proportion) is; for figures and dates, the
    countries they must be about."""

    kind: Kind
    counted: frozenset[str] = frozenset()
    share: bool = False
    places: tuple[tuple[str, ...], ...] = ()  # each country the question names, as its spellings
    named: tuple[str, ...] = ()  # other places the question names where something is ("in Gaza")


def expected(question: str) -> Expectation | None:
    """What `question` asks for, when it asks for a checkable kind of answer."""
    found = _expected(question)
    if found is None or found.kind == "country":
        return found
    # another country's figure does not answer ("How many cases … in Burkina Faso?" is not answered by Mali's)
    pattern, countries = _places()
    places = tuple(dict.fromkeys(countries[name] for name in pattern.findall(question)))
    spelled = {spelling for spellings in places for spelling in spellings}
    named = tuple(n for n in dict.fromkeys(_LOCATED.findall(question)) if n not in spelled)
    return replace(found, share=bool(_SHARE_Q.search(question)), places=places, named=named)


def answers(expectation: Expectation, sentence: Sentence, titles: Mapping[str, str] | None = None) -> bool:
    """Whether an answer `sentence` gives the kind of answer expected, citing paragraphs that name every
    country the question asks about (in their text, their section heading or their document's title,
    from `titles`: a report on Somalia need not name it in every paragraph)."""
    titles = titles or {}
    cited = " ".join(f"{titles.get(c.doc, '')} {c.section} {c.text}" for c in sentence.citations)
    cited = _APOSTROPHE.sub("'", cited)
    places = all(any(s in cited for s in spellings) for spellings in expectation.places)
    if not places or not holds(expectation, sentence.text) or _elsewhere(expectation, sentence):
        return False
    if expectation.kind != "count" or (expectation.share and _PERCENT.search(sentence.text)):
        return True
    # a count must be the cited paragraphs' count of the same thing: "Two countries" is no answer from
    # a paragraph that gives "10 of the more than 20 countries" and, elsewhere, "two new deployments"
    # (read more widely there: "only 10 of the more than 20 countries" counts countries twice)
    paragraphs = " ".join(c.text for c in sentence.citations)
    return bool(counts(expectation, sentence.text) & counts(expectation, paragraphs, reach=(6, 10)))


def _elsewhere(expectation: Expectation, sentence: Sentence) -> bool:
    """Whether the figures of `sentence` are another place's: every sentence of its cited paragraphs that
    states them names a country the question does not, and no place the question names ("How many people
    in Gaza…" is not answered by "In Ukraine, we … assisted 8.5 million people")."""
    asked = [s for spellings in expectation.places for s in spellings] + [
        _APOSTROPHE.sub("'", name) for name in expectation.named
    ]
    stated = set(_FIGURE.findall(figures(sentence.text)))
    if not asked or not stated:
        return False
    sources = [
        s
        for c in sentence.citations
        for s in split_sentences(_APOSTROPHE.sub("'", c.text))
        if stated & set(_FIGURE.findall(figures(s)))
    ]
    pattern, _ = _places()
    return bool(sources) and all(
        set(pattern.findall(s)) - set(asked) and not any(name in s for name in asked) for s in sources
    )


def _expected(question: str) -> Expectation | None:
    if _MONEY_Q.search(_FRAME.sub(" ", question)):
        # a question about a budget is answered by a budget's amount, not by any sum of money
        return Expectation("money", terms("budget") & terms(question))
    if m := _COUNT_Q.search(question):
        words = []
        for word in m.group(1).split():
            if _STOP.match(word):
                break
            words.append(word)
        # what is counted are the phrase's plural nouns ("ISIL fighters remain": fighters, not "remain",
        # which a camp's "individuals … remained stranded" would match; "countries and UN entities": both)
        heads = [w for w in words if _PLURAL.search(w) or w.lower() in _IRREGULAR]
        counted = terms(" ".join(heads or words))
        return Expectation("count", counted.union(*(group for group in _SYNONYMS if counted & group)))
    if _DATE_Q.search(question):
        return Expectation("date")
    if _COUNTRY_Q.search(question):
        return Expectation("country")
    return None


def holds(expectation: Expectation, text: str) -> bool:
    """True when `text` contains an answer of the expected kind (symbols and resolution years aside)."""
    plain = _SYMBOLS.sub(" ", text)
    if expectation.kind == "money":
        return bool(_MONEY.search(plain)) and expectation.counted <= terms(plain)
    if expectation.kind == "date":
        return bool(_DATE.search(plain))
    if expectation.kind == "country":
        return any(name in text for name in _countries())
    if expectation.share and (_PERCENT.search(plain) or _FRACTION.search(figures(plain))):
        return True
    # a share of nothing counted ("What percentage of the plan was funded?") is no count of anything
    return not (expectation.share and not expectation.counted) and bool(counts(expectation, text))


def counts(expectation: Expectation, text: str, *, reach: tuple[int, int] = (3, 5)) -> set[str]:
    """The counts `text` gives of what `expectation` counts: the numbers next to it (within `reach`
    words before and after; in figures: "ten" is "10"; years and days of dates aside), and quantifiers
    just before it ("few States")."""
    words = figures(_SYMBOLS.sub(" ", text)).split()
    found = set()
    for i, word in enumerate(words):
        bare = word.strip(",.;:()")
        if _NUMBER.fullmatch(bare) and not _YEAR.match(bare) and not _day(words, i):
            near = terms(" ".join(words[max(0, i - reach[0]) : i + reach[1] + 1]))
            if not expectation.counted or expectation.counted & near:
                found.add(bare.lower())
        elif (
            _QUANTIFIER.fullmatch(quantifier := word.strip("“”\"‘’'("))  # a quoted sentence may open with it
            and expectation.counted & terms(" ".join(words[i + 1 : i + 3]))
        ):
            found.add(quantifier.lower())
    return found


def figures(text: str) -> str:
    """`text` with its numbers written out put in figures ("ten" and "10" are one number)."""

    def figure(m: re.Match[str]) -> str:
        tens, extra, units = m.groups()
        return str(_VALUE[(tens or units).lower()] + (_VALUE[extra.lower()] if extra else 0))

    return _NUMBER_WORD.sub(figure, text)


def _day(words: list[str], i: int) -> bool:
    """Whether `words[i]` is the day of a date ("3 March 2019", "March 3"): no count of anything."""
    return any(0 <= j < len(words) and _MONTH.match(words[j]) for j in (i - 1, i + 1))


@lru_cache(maxsize=1)
def _places() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    """A pattern finding any country's name in a question (possessive allowed: "Somalia's"), and each
    name's country as all its spellings: its names ("Syrian Arab Republic", "Syria", "Iran") and the part
    of a listed name before its comma ("Congo, The Democratic Republic of the": "Congo")."""
    import pycountry

    countries: dict[str, tuple[str, ...]] = {}
    for country in pycountry.countries:
        known = {getattr(country, attr, None) for attr in ("name", "common_name", "official_name")}
        spellings = tuple(sorted({name.split(",")[0] for name in known if name}))
        countries.update(dict.fromkeys(spellings, spellings))
    names = "|".join(re.escape(name) for name in sorted(countries, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({names})(?![\w-]|['’](?!s\b))"), countries


@lru_cache(maxsize=1)
def _countries() -> tuple[str, ...]:
    import pycountry

    names = set()
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value and "," not in value:
                names.add(value)
    return tuple(sorted(names))
