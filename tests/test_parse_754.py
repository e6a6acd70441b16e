"""Facts about the OCR text of S/2020/754 that the parser must get exactly right."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CORPUS, parse_once


@pytest.fixture(scope="module")
def units():
    return parse_once(CORPUS / "S_2020_754.txt").units


@pytest.fixture(scope="module")
def para(units):
    return {u.para: u for u in units}


def test_symbol_and_counts(units):
    assert {u.doc for u in units} == {"S/2020/754"}
    paragraphs = [u.para for u in units if u.kind == "paragraph"]
    assert paragraphs == [str(n) for n in range(1, 118)]
    assert [u.para for u in units if u.kind == "footnote"] == ["fn1", "fn2", "fn3"]


def test_first_paragraph_repaired(para):
    assert para["1"].text.startswith("On 19 July 2019, the Security Council adopted resolution 2482 (2019)")
    assert para["1"].section == "I. Introduction"


@pytest.mark.parametrize(
    ("number", "opening"),
    [
        ("11", "Member States highlighted criminal legislative provisions"),
        ("41", "Many Member States encourage close inter-agency cooperation"),
        ("113", "Member States should consider strengthening national coordination"),
    ],
)
def test_broken_numbers_found(para, number, opening):
    assert para[number].text.startswith(opening)


def test_paragraphs_whole_across_page_breaks(para):
    assert para["25"].text.endswith("non-governmental organizations and source countries.")
    assert "which could have links to terrorism. Those efforts included" in para["25"].text
    assert para["47"].text.endswith("could be accessed by national and local prosecutors alike.")
    assert para["25"].page == 4
    assert para["26"].page == 5


def test_sections(para):
    assert para["30"].section.endswith("Collection and sharing of intelligence")
    assert para["30"].section == "II.C Collection and sharing of intelligence"
    assert para["40"].section == "II.E Investigation and prosecution"  # OCR "prosecntion" repaired
    assert para["105"].section == "IV. Concluding observations"


def test_no_page_furniture(units):
    furniture = re.compile(r"s/2020/754\b(?! ,)|20-09860|\b\d{1,2}/18\b|l{8,}|\(E\) 030820", re.IGNORECASE)
    for unit in units:
        assert not furniture.search(unit.text), (unit.para, unit.text)


def test_footnote_two_not_glued_into_52(para):
    assert para["52"].text.endswith("based on the identified threats in the region and training.")
    assert "Police Community of the Americas" not in para["52"].text
    assert para["fn2"].text.startswith("This includes cooperation through the Police Community of the Americas")
    assert para["fn2"].page == 8
    assert para["fn1"].text.startswith("See the joint report") and para["fn1"].page == 2
    assert para["fn3"].text.endswith("(A/HRC/16/51).") and para["fn3"].page == 18


def test_ocr_repairs(para, units):
    assert "money-laundering" in para["9"].text  # "money -laundering"
    assert "resolution 2462 (2019). Some" in para["9"].text  # stray footnote mark "'" removed
    assert "counter-terrorism agencies" in para["73"].text  # "counter¬" + "terrorism"
    assert "public-private partnerships" in para["34"].text
    assert "proceeds-generating crimes" in para["46"].text  # hyphen at line end with spaces
    text = " ".join(u.text for u in units)
    assert "  " not in text and "¬" not in text and "^" not in text
