"""UN documents of many families (the shared development set): symbols, numbering restarting per part,
page furniture, files known by content. Expectations come from reading the PDFs page by page."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from rag import Settings, parse_file
from rag.labels import label

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV = SHARED / "un-dev-set"
ROOT = Path(__file__).resolve().parents[1]
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason=f"the UN development set {DEV} is not present")


def _parse(name: str):
    return parse_file(DEV / name, settings=Settings())


@needs_dev
@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("A_39_361.en.pdf", "A/39/361"),  # printed "A/39/36I" by the OCR layer
        ("CEB_2025_4.en.pdf", "CEB/2025/4"),  # "United Nations System CEB/2025/4"
        ("S_2024_145.en.pdf", "CEDAW/C/CAF/CO/6"),  # the file is misnamed: a Russian CEDAW document
        ("E_C.2_2025_2_Add.1.en.pdf", "E/C.2/2025/2/Add.1"),
        ("CCPR_C_121_D_2025_2011.en.pdf", "CCPR/C/121/D/2025/2011"),  # masthead given last by pypdf
    ],
)
def test_symbol_from_the_first_page(name, symbol):
    assert _parse(name).document.id == symbol


@needs_dev
def test_older_typography_in_number_order():
    # page 1 of A/47/466 comes out of pypdf as paragraphs 3, 2, 1; the annex lists 136 signatories
    units = _parse("A_47_466.en.pdf").units
    paragraphs = [u for u in units if u.kind == "paragraph"]
    assert [u.para for u in paragraphs] == [str(n) for n in range(1, 36)]
    assert paragraphs[0].text.startswith("By its resolution 45/212 of 21 December 1990")
    assert all(u.kind == "text" for u in units if u.page >= 10 and u.kind != "footnote")


@needs_dev
def test_decisions_restart_their_numbering():
    units = {u.para: u for u in _parse("UNW_2025_1.en.pdf").units}
    assert [p for p in units if p.isdigit()] == [str(n) for n in range(1, 50)]
    for decision, count in (("2025/1", 5), ("2025/2", 3), ("2025/3", 9), ("2025/4", 12)):
        ids = [p for p in units if p.startswith(f"annex-I.decision-{decision}.")]
        assert ids == [f"annex-I.decision-{decision}.{n}" for n in range(1, count + 1)]
    first = units["annex-I.decision-2025/1.1"]
    assert first.text.startswith("Takes note of the report of the UN Board of Auditors") and first.page == 17
    assert first.section.startswith("Annex I / Decision 2025/1 Financial report")
    assert label("UNW/2025/1", first.para) == "UNW/2025/1, annex I, decision 2025/1, para. 1"


@needs_dev
def test_annex_with_numbered_paragraphs_and_annexes_that_are_lists():
    tpnw = [u for u in _parse("TPNW_MSP_2025_11.en.pdf").units if u.kind == "paragraph"]
    ids = [u.para for u in tpnw]
    assert ids[:27] == [str(n) for n in range(1, 28)]
    assert ids[27:67] == [f"annex-I.{n}" for n in range(1, 41)]  # the declaration
    assert len(ids) == len(set(ids))
    # CEB/2025/4: annex I is the agenda (1. UN80 Initiative.), a list, not paragraphs
    ceb = _parse("CEB_2025_4.en.pdf").units
    assert [u.para for u in ceb if u.kind == "paragraph"] == [str(n) for n in range(1, 79)]


@needs_dev
def test_job_numbers_run_into_text_are_removed():
    units = {u.para: u for u in _parse("DP_2025_10.en.pdf").units}
    assert "25-04764" not in units["12"].text and "the Bureau for Management Services" in units["12"].text
    hrc = {u.para: u for u in _parse("A_HRC_59_60.en.pdf").units}
    assert "GE.25-05795" not in hrc["12"].text
    assert "political will to ensure that business activities" in hrc["12"].text


@needs_dev
def test_pdf_without_suffix_is_parsed_as_pdf(tmp_path):
    copy = tmp_path / "download"
    shutil.copy(DEV / "S_RES_2778 (2025).en.pdf", copy)
    parsed = parse_file(copy, settings=Settings())
    assert parsed.document.id == "S/RES/2778 (2025)"
    assert [u.para for u in parsed.units if u.kind == "paragraph"] == ["1", "2"]


@needs_dev
@pytest.mark.slow
def test_sweep_of_the_dev_set_and_the_corpus():
    sys.path.insert(0, str(ROOT / "evals"))
    from sweep import sweep

    rows = {r.file: r for r in sweep([DEV, ROOT / "corpus"])}
    assert sum(r.job_units for r in rows.values() if r.file != "A_HRC_EMRIP_2025_1.en.pdf") == 0
    assert rows["A_45_696_Add.1.en.pdf"].error  # a scan without a text layer
    expected = {
        "A_47_466.en.pdf": "1–35",
        "A_HRC_59_60.en.pdf": "1–64",
        "DP_2025_10.en.pdf": "1–95",
        "DP_2025_12.en.pdf": "1–84",
        "JIU_REP_2025_2.en.pdf": "1–113",
        "S_RES_2773 (2025).en.pdf": "1–18",
        "TD_B_CN.4_48.en.pdf": "1–75",
        "S_2020_754.txt": "1–117",
        "A_80_1.en.pdf": "1–135",
    }
    assert {name: rows[name].found for name in expected} == expected
    assert rows["CEB_2025_4.en.pdf"].found == "1–78"
    assert rows["UNW_2025_1.en.pdf"].agree and rows["CEB_2025_4.en.pdf"].symbol == "CEB/2025/4"
