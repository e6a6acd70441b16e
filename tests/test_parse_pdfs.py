"""The five UN PDFs of the default corpus: symbols, paragraph numbering, start pages, footnotes."""

from __future__ import annotations

import re

import pypdf
import pytest

from tests.conftest import CORPUS, parse_once

EXPECTED = {  # file: (symbol, number of numbered paragraphs, pages)
    "S_2025_72.en.pdf": ("S/2025/72", 67, 15),
    "S_2025_194.en.pdf": ("S/2025/194", 82, 29),
    "S_2025_389.en.pdf": ("S/2025/389", 88, 34),
    "S_RES_2768 (2025).en.pdf": ("S/RES/2768 (2025)", 6, 2),
    "A_80_1.en.pdf": ("A/80/1", 135, 27),
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def parsed(request):
    return request.param, parse_once(CORPUS / request.param)


def test_symbol_and_numbering(parsed):
    name, result = parsed
    symbol, count, pages = EXPECTED[name]
    assert result.document.id == symbol and result.document.pages == pages
    assert {u.doc for u in result.units} == {symbol}
    assert [u.para for u in result.units if u.kind == "paragraph"] == [str(n) for n in range(1, count + 1)]


def test_start_pages_match_the_pdf(parsed):
    # Independent oracle: the page whose raw pypdf text has a line starting with "N. ".
    name, result = parsed
    raw = [p.extract_text() for p in pypdf.PdfReader(CORPUS / name).pages]
    page = 1
    for unit in (u for u in result.units if u.kind == "paragraph"):
        page = next(k for k in range(page, len(raw) + 1) if re.search(rf"(?m)^\s*{unit.para}\.\s", raw[k - 1]))
        assert unit.page == page, unit.para


def test_no_furniture_or_glued_reference_numbers(parsed):
    _, result = parsed
    counter = result.document.pages - (2 if result.document.id == "A/80/1" else 0)  # GA layout counts from 3
    job = re.compile(rf"\b2[45]-\d{{5}}\b|\*\d{{7}}\*|(?<![/\w])\d{{1,2}}/{counter}\b")
    for unit in result.units:
        assert not job.search(unit.text), (unit.para, unit.text)
        if unit.kind == "paragraph":
            assert not re.search(r"[a-z”)]\d{1,2}\b", unit.text), (unit.para, unit.text)


def test_isil_report_details():
    units = {u.para: u for u in parse_once(CORPUS / "S_2025_72.en.pdf").units}
    one = units["1"].text
    assert "Islamic State in Iraq and the Levant (ISIL, hereinafter referred to as “Da’esh”) and" in one
    assert "The present report is the twentieth such report. It was prepared" in units["2"].text
    assert "organizational structures, Da’esh and its affiliates" in units["4"].text
    assert units["4"].section == "II.A Overview and evolution of the threat"
    assert [u.para for u in units.values() if u.kind == "footnote"] == [f"fn{n}" for n in range(1, 10)]
    assert units["fn1"].text == "Listed as Al-Qaida in Iraq (QDe.115)." and units["fn1"].page == 1
    assert units["fn4"].page == 2 and units["fn4"].text.endswith("(S/2025/71).")
    assert "highest-profile casualty" in units["8"].text  # line-end hyphen of a compound kept
    assert units["3"].text.endswith(
        "Member States in countering the threat posed by Da’esh, including in their "
        "efforts to implement the United Nations Global Counter-Terrorism Strategy and "
        "relevant Security Council resolutions."
    )  # joined across the page break
    assert "Coordination Compact entities" in units["33"].section  # two-line heading


def test_resolution_preamble_and_operative_paragraphs():
    result = parse_once(CORPUS / "S_RES_2768 (2025).en.pdf")
    units = {u.para: u for u in result.units}
    preamble = [u for u in result.units if u.kind == "preamble"]
    assert [u.para for u in preamble] == ["pp1", "pp2", "pp3", "pp4", "pp5"]
    assert preamble[0].text.startswith("Recalling all its relevant resolutions on the situation in Yemen")
    assert preamble[1].text == "Condemning the Houthi continued attacks against merchant and commercial vessels,"
    assert units["1"].text.startswith("Extends the reporting request in paragraph 10 of resolution 2722 (2024)")
    assert units["5"].page == 2 and units["6"].text == "Decides to remain actively seized of this matter."


def test_general_assembly_layout_boxes_and_annex_footnotes():
    a801 = {u.para: u for u in parse_once(CORPUS / "A_80_1.en.pdf").units}
    assert a801["1"].page == 6 and a801["1"].section == "I. Introduction"
    assert a801["18"].section.startswith("II.A Promotion of sustained economic growth")
    # the box at the top of page 9 is its own unit, not glued to the paragraph before it
    assert a801["23"].text.endswith("investment in the Goals.")
    box = a801["p9.1"]
    assert box.kind == "text" and box.text.startswith("A pact for a sustainable future")
    s389 = parse_once(CORPUS / "S_2025_389.en.pdf").units
    notes = [u for u in s389 if u.kind == "footnote"]
    assert [u.page for u in notes] == [13, 24, 33]  # the annex restarts footnote numbering at 1
    assert notes[1].text.endswith("resolution 1244 (1999).")
    # an annex's and an appendix's titles head their text instead of opening its first block
    s389 = {u.para: u for u in s389}
    assert s389["p30.1"].section.startswith("Annex List of parties credibly suspected of committing")
    assert s389["p30.1"].text.startswith("The following list does not purport")
    notice = "Appendix Parties on notice for potential listing in the next report to the Security Council"
    assert [s389[f"p34.{i}"].section for i in (1, 2, 3, 4)] == [notice] * 4
    assert s389["p34.1"].text.startswith("Due to the consistent denial of access")


def test_headings_between_paragraphs_are_not_glued_to_them(parsed):
    # A numbered paragraph ends as a sentence does; a heading after it (even numbered, "3. Coordination
    # with …", or too long to look like a title) heads the next paragraphs instead.
    _, result = parsed
    unfinished = [
        (u.para, u.text[-60:]) for u in result.units if u.kind == "paragraph" and not re.search(r"[.;:!?”)’]$", u.text)
    ]
    assert unfinished == []


def test_numbered_subheading_heads_the_next_paragraph():
    units = {u.para: u for u in parse_once(CORPUS / "S_2025_194.en.pdf").units}
    assert units["61"].text.endswith("resilience of Somalia.")
    assert units["62"].section.endswith(
        "/ Coordination with the African Union Transition Mission in Somalia/African "
        "Union Support and Stabilization Mission in Somalia"
    )
