"""A UN document's title and date, read from its first page's masthead.

The first page of a UN document is laid out the same way across families and decades, though pypdf
may give its blocks in another order: the organisation and organ ("United Nations", "General
Assembly", "Executive Board of …"), the distribution block ("Distr.: General", the date, "Original:
English", job number, barcode), then the meeting (session, dates and place, "Agenda item 5" and the
agenda item's own title), then the document's title and subtitle ("Report of the Secretary-General"),
then the summary, contents or body. The title is what follows the last of the masthead's blocks.
"""

from __future__ import annotations

import re

from rag.layout import is_furniture

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
# a date, OCR-split years tolerated ("25 July 19 84")
_DATE = re.compile(rf"\b(\d{{1,2}}) ({_MONTH}) ((?:1 ?9|2 ?0) ?\d ?\d)\b")
_DATE_LINE = re.compile(rf"\[?\d{{1,2}} {_MONTH} (?:1 ?9|2 ?0) ?\d ?\d\]?")
# the distribution block, and the organisation's name in every form pypdf and OCR give it
_DISTRIBUTION = re.compile(
    r"(?:.* )?Distr\.?(?::.*)?|GENERAL|LIMITED|RESTRICTED|[Oo0][Rr][Ii1][Gg][Ii1][Nn][Aa][Ll]\s*:.*"
    r"|(?:English|French|Spanish|Russian|Arabic|Chinese)(?: only)?|[A-Z]{0,2} ?\(E\)(?: \d{6})*"
)
_ORGANISATION = re.compile(
    r"\W*(?:UNITED|NATIONS(?: [A-Z])?|\w*(?:UNITED)+|\w*(?:NATIONS)+|United Nations(?: System)?|Nations Unies"
    r"|General Assembly|Security Council|Economic and Social Council|Human Rights Council"
    r"|Official Records|Supplement No\. \d+)?",
    re.I,
)
_SESSION = re.compile(r"[A-Z\d][\w-]*(?: [\w-]+){0,2} [Ss]ess ?ion(?: \d{4})?")
_PLACE = re.compile(r"(?:New York|Geneva|Vienna|Nairobi|Bangkok|Santiago|Addis Ababa|Beirut|Rome),? .*\d{4}")
_DATES = re.compile(rf"\d{{1,2}}(?: {_MONTH})?\s*(?:–|-|to|and) .*{_MONTH},? \d{{4}}(?:,? .*)?")
_AGENDA = re.compile(
    r"(?:Provisional a|A)genda items? \d.*|[IlfF1]tem \d+(?: \([a-z]\))? of the (?:provisional )?agenda\W*"
)
# a body named before the title with no distribution block after it ("Human Rights Committee")
_BODY = re.compile(r"(?:[A-Z][\w-]* ){0,3}(?:Committee|Commission)")
# where a title ends: the summary, contents, a heading, a numbered paragraph, a form's labels
_AFTER_TITLE = re.compile(
    r"(?:Summary|Contents|CONTENTS|Introduction|Abstract|Provisional agenda|Note|Foreword|Preface)\b.{0,30}"
    r"|(?:Adopted|Prepared|Rapporteur|Communication submitted|Alleged|State party)\b.*"
    r"|(?:\(?\d{1,3}|[IVX]{1,5}|[A-H]|l)\s?[.)] .*"
)
# a subtitle's first words: the kind of document under the subject's title
_SUBTITLE = re.compile(
    r"(?:(?:\w+ )?[Rr]eport|Note|Addendum|Corrigendum|Letter|Decision|Views|Resolution|Draft|Matters|Concluding"
    r"|Conclusions|Statement|Annotated|Compilation|Summary)\b"
)
_CONTINUES = re.compile(r".*(?:[,:;–-]|\b(?:and|or|of|the|on|for|in|to|by|with|a|an|its))$")
TITLE_CHARS = 240
PAGES = 5  # a date is looked for this far: a cover, contents and a foreword may come first


def front_matter(pages: list[list[str]], symbol: str | None) -> tuple[str, str]:
    """The document's title and date from its first pages' lines ("" where they have none): the title
    from the first page, the date from the first page or else a date standing alone on the next few
    (a report's cover, then "[18 July 2025]" above its introduction)."""
    first, *later = [
        [ln for t in page if (ln := _without_symbol(t, symbol)) and not is_furniture(ln, symbol) and not _is_noise(ln)]
        for page in pages[:PAGES]
    ]
    date = _date(first) or next((_date([ln]) for page in later for ln in page if _DATE_LINE.fullmatch(ln)), "")
    return _title(first), date


def _without_symbol(line: str, symbol: str | None) -> str:
    line = line.strip()
    if symbol and symbol in line:
        line = line.replace(symbol, " ").strip()
    return line


def _date(lines: list[str]) -> str:
    """The issue date: a line that is a date alone (the distribution block's), else the first date."""
    found = next((ln for ln in lines if _DATE_LINE.fullmatch(ln)), None)
    found = found or next((ln for ln in lines if _DATE.search(ln)), "")
    m = _DATE.search(found)
    return f"{m.group(1)} {m.group(2)} {m.group(3).replace(' ', '')}" if m else ""


def _is_masthead(line: str) -> bool:
    return any(p.fullmatch(line) for p in (_DISTRIBUTION, _ORGANISATION, _DATE_LINE, _SESSION, _PLACE, _DATES, _AGENDA))


def _title(lines: list[str]) -> str:
    # a cover names the document before its masthead ("Report of the Secretary-General on the work of
    # the Organization", then "General Assembly Official Records"): read from the top when nothing follows
    return _title_from(lines, _title_start(lines)) or _title_from(lines, 0)


def _title_from(lines: list[str], start: int) -> str:
    out: list[str] = []
    for k in range(start, len(lines)):
        line = lines[k]
        if _AFTER_TITLE.fullmatch(line) and not (out and _CONTINUES.fullmatch(out[-1])):
            if line.startswith(("Note by", "Note of")):
                out.append(line)  # "Note by the Secretariat" is the subtitle, not a section
            break
        if _is_masthead(line) or len(line) > 75:
            if out:
                break
            continue
        out.append(line)
    return _join(out)


def _title_start(lines: list[str]) -> int:
    """Index of the first line after the masthead: after the distribution block when it comes before
    the title, after the meeting's lines, and after an agenda item's own title."""
    start = 0
    end = next((k for k, ln in enumerate(lines) if _AFTER_TITLE.fullmatch(ln)), len(lines))
    distribution = [k for k, ln in enumerate(lines[:end]) if _DISTRIBUTION.fullmatch(ln) or _DATE_LINE.fullmatch(ln)]
    if distribution:
        start = distribution[-1] + 1
    # (a line that continues the one before is part of a title: "… at its" + "forty-ninth session")
    heads = [k for k in range(start, end) if k == 0 or not _CONTINUES.fullmatch(lines[k - 1])]
    meeting = [k for k in heads if _SESSION.fullmatch(lines[k]) or _PLACE.fullmatch(lines[k])]
    agenda = [k for k in heads if _AGENDA.fullmatch(lines[k])]
    if agenda:
        return _after_agenda_title(lines, agenda[-1] + 1)
    if meeting:
        return meeting[-1] + 1
    while start < end and _BODY.fullmatch(lines[start]):
        start += 1
    return start


def _after_agenda_title(lines: list[str], k: int) -> int:
    """Skip the agenda item's title: capitals to their end (older typography), else its first line
    and the lines that continue it."""
    if k < len(lines) and _capitals(lines[k]):
        while k < len(lines) and _capitals(lines[k]):
            k += 1
        return k
    while k + 1 < len(lines) and (_CONTINUES.fullmatch(lines[k]) or lines[k + 1][:1].islower()):
        k += 1
    return k + 1


def _capitals(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) > 0.8 * len(letters)


def _is_noise(line: str) -> bool:
    return sum(c.isalpha() for c in line) < 3


def _join(lines: list[str]) -> str:
    """Lines of a title joined; a subtitle ("Report of the Secretary-General") after a dash."""
    text = ""
    for line in lines:
        line = re.sub(r"(?<=\w)\*+(?:, ?\*+)*$", "", line)  # footnote marks on a title
        line = re.sub(r"(?<=\b(?:19|20)\d\d)\d$", "", line)  # a footnote number run into a year
        if not text:
            text = line
        elif _SUBTITLE.match(line) and line[:1].isupper() and not _CONTINUES.fullmatch(text):
            text = f"{text} — {line}"
        else:
            text = f"{text} {line}"
    if len(text) > TITLE_CHARS:
        text = text[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"
    return text
