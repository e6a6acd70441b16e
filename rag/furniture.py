"""Page furniture learned per document: lines repeated at the top or foot of most pages, and the
document's job number wherever pypdf put it (also run into a paragraph's text)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rag.rules import RULES

# A job number of any UN office: "25-09397", "GE.25-08796", with the language letter "(E)".
_JOB = re.compile(r"(?<![\w/.-])((?:[A-Z]{1,3}\.)?\d{2}-\d{5})(?![\w/-])")
# letters OCR reads for digits, compared as those digits ("A/39/36I" and "A/39/361" and "Page 10")
_OCR_KEY = str.maketrans({"i": "1", "l": "1", "|": "1", "!": "1", "o": "0", "q": "g"})
_PART_HEADING = re.compile(r"(?i)(?:annex|appendix|enclosure|attachment)\b.*")


@dataclass(frozen=True, slots=True)
class Furniture:
    """What repeats on a document's pages: normalised header/footer lines and job numbers."""

    repeated: frozenset[str] = frozenset()
    jobs: tuple[str, ...] = ()
    page_offset: int = 0  # PDF page minus the printed page number

    def is_repeated(self, line: str) -> bool:
        """True for a line that is one of the document's running headers or footers."""
        return bool(line) and _key(line) in self.repeated

    def strip_jobs(self, line: str, page: int) -> str:
        """Remove the document's job numbers run into a line, with the page number printed beside them."""
        for job in self.jobs:
            if job not in line:
                continue
            pattern = (
                r"(?:(?<![\w/.,-])(\d{1,3}(?:/\d{1,3})?) )?"
                + re.escape(job)
                + r"(?: ?\([A-Z]\))?(?: \d{6}){0,3}(?: (\d{1,3}(?:/\d{1,3})?)(?![\w/-]))?"
            )
            line = re.sub(pattern, lambda m: self._keep(m, page), line)
        return " ".join(line.split())

    def _keep(self, m: re.Match[str], page: int) -> str:
        before, after = m.group(1), m.group(2)
        printed = str(page - self.page_offset)
        if after and ("/" in after or after == printed):
            return f"{before} " if before else " "
        if before and ("/" in before or before == printed):
            return f" {after}" if after else " "
        return " ".join(x for x in (before, after) if x) or " "


def _key(line: str) -> str:
    """A line as compared across pages: case, spaces, digits and common OCR confusions aside."""
    return re.sub(r"#+", "#", re.sub(r"\d", "#", line.lower().replace(" ", "").translate(_OCR_KEY)))


def learn(pages: list[list[str]]) -> Furniture:
    """Find the running headers, footers and job numbers of a document from its cleaned page lines."""
    zone = RULES.furniture_zone_lines
    counts: Counter[str] = Counter()
    job_pages: Counter[str] = Counter()
    offsets: Counter[int] = Counter()
    for number, lines in enumerate(pages, start=1):
        texts = [t for t in lines if t]
        edge = texts[:zone] + texts[-zone:] if len(texts) > 2 * zone else texts
        counts.update({_key(t) for t in edge if not _PART_HEADING.fullmatch(t) and len(t) <= 80})
        job_pages.update({m.group(1) for t in texts for m in _JOB.finditer(t)})
        for t in edge:
            m = re.fullmatch(r"(?:(\d{1,3}) )?(?:[A-Z]{1,3}\.)?\d{2}-\d{5}(?: (\d{1,3}))?", t)
            if m and (printed := m.group(1) or m.group(2)):
                offsets[number - int(printed)] += 1
    need = max(RULES.furniture_min_pages, RULES.furniture_page_share * len(pages))
    # a line of numbers only ("17/20", "2025/1") is never learned: counters and job numbers have their
    # own patterns, and a decision's number must not be taken for one ("/..." is learned)
    repeated = frozenset(
        k for k, n in counts.items() if n >= need and k.strip("#") and ("#" not in k or re.search(r"[^\W\d_]", k))
    )
    # a job number is the document's own when it recurs on pages (or heads a one- or two-page document)
    own = tuple(j for j, n in job_pages.items() if n >= min(2, len(pages)) or (n and len(pages) <= 2))
    offset = offsets.most_common(1)[0][0] if offsets else 0
    return Furniture(repeated, own, offset)
