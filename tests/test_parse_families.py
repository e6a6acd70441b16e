"""UN documents of many families (the shared development set): symbols, numbering restarting per part,
page furniture, files known by content. Expectations come from reading the PDFs page by page."""

from __future__ import annotations

import shutil
import sys

import pytest

from rag import Settings, parse_file
from rag.errors import BadInput
from rag.front import front_matter
from rag.labels import label
from tests.conftest import ROOT, SHARED, parse_once

DEV = SHARED / "un-dev-set"
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason=f"the UN development set {DEV} is not present")


def _parse(name: str):
    return parse_once(DEV / name)


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
@pytest.mark.parametrize(
    ("name", "date", "title"),
    [
        # the distribution block's date, not the session's ("16 June–11 July 2025"); the agenda item's
        # own title ("Human rights bodies and mechanisms") is not the document's
        (
            "A_HRC_59_60.en.pdf",
            "22 April 2025",
            "Thirteenth session of the Forum on Business and Human Rights — Report of the Working Group on the"
            " issue of human rights and transnational corporations and other business enterprises",
        ),
        ("A_39_361.en.pdf", "25 July 1984", "Progress report of tbe SecEetaly-General"),  # OCR "19 84", as printed
        (
            "A_48_653.en.pdf",  # two agenda items' titles in capitals come first
            "29 November 1993",
            "Report of the Special Political and Decolonization Committee (Fourth Committee)",
        ),
        ("A_HRC_EMRIP_2025_1.en.pdf", "14 April 2025", "Annotated provisional agenda"),  # masthead given last
        (
            "CCPR_C_121_D_2025_2011.en.pdf",  # the committee's name and the form's labels are not the title
            "27 December 2017",
            "Decision adopted by the Committee under the Optional Protocol, concerning communication No. 2025/2011",
        ),
        (
            "DP_2025_12.en.pdf",  # the agenda item's title is the document's, printed twice
            "7 April 2025",
            "UNDP Cumulative review of the Strategic Plan, 2022-2025, and annual report of the Administrator for 2024",
        ),
        (
            "E_C.20_2025_11.en.pdf",
            "23 May 2025",
            "Geospatial information for climate, environment and resilience — Note by the Secretariat",
        ),
        (
            "TD_B_CN.4_48.en.pdf",  # 1995: the Board, the committee and the session before the agenda item
            "29 March 1995",
            "Progress report by the UNCTAD secretariat",
        ),
        ("S_RES_2773 (2025).en.pdf", "21 February 2025", "Resolution 2773 (2025)"),
        (
            "TPNW_MSP_2025_11.en.pdf",
            "19 March 2025",
            "Report of the third Meeting of States Parties to the Treaty on the Prohibition of Nuclear Weapons",
        ),
        ("UNW_2025_1.en.pdf", "23 April 2025", "Report on the first regular session 2025, 10 to 11 February 2025"),
        (
            "JIU_REP_2025_2.en.pdf",  # a cover; no day is printed on it or on the pages after it
            "",
            "Review of policies and practices to prevent and respond to sexual exploitation and abuse in the"
            " United Nations system organizations — Report of the Joint Inspection Unit",
        ),
    ],
)
def test_title_and_date_from_the_first_page(name, date, title):
    document = _parse(name).document
    assert (document.date, document.title) == (date, title)


@needs_dev
def test_a_long_title_is_cut_at_a_word():
    title = _parse("E_2025_15_Add.1.en.pdf").document.title
    assert title.startswith("Regional cooperation in the economic, social and related fields — Report of the")
    assert title.endswith(" …") and len(title) <= 242 and "Economic Commission for Africa" in title


def test_title_after_the_agenda_items_own_title_and_date_from_the_distribution_block():
    masthead = [
        "Human Rights Council",
        "Sixtieth session",
        "8 September–3 October 2025",
        "Agenda item 3",
        "Promotion and protection of all human rights, civil,",
        "political, economic, social and cultural rights",
        "Access to justice for",
        "older persons",
        "Report of the Independent Expert",
        "Summary",
        "The Independent Expert submits the present report pursuant to Council resolution 54/1, in which",
        "United Nations A/HRC/60/9",
        "General Assembly Distr.: General",
        "11 July 2025",
        "Original: English",
    ]
    title, date = front_matter([masthead], "A/HRC/60/9")
    assert (title, date) == ("Access to justice for older persons — Report of the Independent Expert", "11 July 2025")
    assert front_matter([["Report on the work", "of the session", "I. Introduction"]], None) == (
        "Report on the work of the session",
        "",
    )


def test_title_and_date_of_the_default_corpus():
    documents = {
        name: parse_once(ROOT / "corpus" / name).document
        for name in ("S_2020_754.txt", "A_80_1.en.pdf", "S_2025_389.en.pdf")
    }
    assert (documents["S_2020_754.txt"].date, documents["S_2020_754.txt"].title) == (
        "29 July 2020",
        "Action taken by Member States and United Nations entities to address the issue of linkages between"
        " terrorism and organized crime — Report of the Secretary-General",
    )
    # a cover first: the title from it, the date from the page that opens the report
    assert (documents["A_80_1.en.pdf"].date, documents["A_80_1.en.pdf"].title) == (
        "18 July 2025",
        "Report of the Secretary-General on the work of the Organization",
    )
    assert documents["S_2025_389.en.pdf"].title == "Conflict-related sexual violence — Report of the Secretary-General"


@needs_dev
def test_older_typography_in_number_order():
    # page 1 of A/47/466 comes out of pypdf as paragraphs 3, 2, 1; the annex lists 136 signatories
    units = _parse("A_47_466.en.pdf").units
    paragraphs = [u for u in units if u.kind == "paragraph"]
    assert [u.para for u in paragraphs] == [str(n) for n in range(1, 36)]
    assert paragraphs[0].text.startswith("By its resolution 45/212 of 21 December 1990")
    assert all(u.kind == "text" for u in units if u.page >= 10 and u.kind != "footnote")
    # page 3 is headed "A./47/466" (a speck read as a period): furniture, not a unit or a section
    assert not any("47/466" in u.text or "47/466" in u.section for u in units if u.page < 10)


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
def test_a_title_line_right_on_top_of_a_paragraph_is_its_subheading():
    # DP/2025/10 sets "Audit opinion" (no period, no gap below) directly over paragraph 22
    units = _parse("DP_2025_10.en.pdf").units
    by_para = {u.para: u for u in units}
    section = "IV. Audit: Opinion and statement of conformance"
    assert by_para["22"].section == f"{section} / Audit opinion"
    assert by_para["23"].section == by_para["24"].section == f"{section} / Overall opinion"
    assert by_para["82"].section.endswith("/ Processing of cases")
    assert not [u.text for u in units if u.kind == "text" and u.text.endswith(("opinion:", "audits:", "cases:"))]


@needs_dev
def test_a_subtitle_under_a_heading_is_a_subheading_not_more_of_its_title():
    # "V. Audit: Summary of audit results and recommendations" / "Overview of strategic and systemic issues
    # and trends" / "32. …": the second line's first word would have fit on the first, which does not end
    # on a word a title goes on from ("… and the" / "United Nations country team" is one title)
    audit = {u.para: u for u in _parse("DP_2025_10.en.pdf").units}
    assert audit["32"].section == (
        "V. Audit: Summary of audit results and recommendations / Overview of strategic and systemic issues and trends"
    )
    assert audit["14"].section == "III. Office budget and staffing / Budget"
    results = {u.para: u for u in _parse("DP_2025_12.en.pdf").units}
    assert (
        results["62"].section
        == "V. Delivering impact with efficiency / Ninety-two cents of every dollar reaches development programmes"
    )
    assert results["7"].section == "II. Observations / UNDP proves that integration accelerates human development"
    # a title wrapped after a capitalised word stays one title
    ceb = {u.para: u for u in _parse("CEB_2025_4.en.pdf").units}
    assert ceb["68"].section.endswith("the implementation of the Gender Equality Acceleration Plan")


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
    assert sum(r.job_units for r in rows.values()) == 0
    assert rows["A_45_696_Add.1.en.pdf"].error  # a scan without a text layer
    assert "UN document system" in rows["S_2024_207.en.pdf"].error  # the ODS placeholder page
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
        "A_39_361.en.pdf": "1–20",
    }
    assert {name: rows[name].found for name in expected} == expected
    assert rows["CEB_2025_4.en.pdf"].found == "1–78"
    assert rows["UNW_2025_1.en.pdf"].agree and rows["CEB_2025_4.en.pdf"].symbol == "CEB/2025/4"


@needs_dev
def test_footnote_mark_glued_to_a_decision_heading_is_not_its_number():
    # TPNW/MSP/2025/11 p. 15–17: "Intersessional decision 1" carries footnote mark 1, printed "…decision 11";
    # decisions 1–5 have 2, 2, 4, 2, 2 operative paragraphs; footnotes restart at 1 in annex III (1, 2, 3)
    parsed = _parse("TPNW_MSP_2025_11.en.pdf")
    ids = [u.para for u in parsed.units if u.kind == "paragraph" and "intersessional" in u.para]
    expected = [(1, 2), (2, 2), (3, 4), (4, 2), (5, 2)]
    assert ids == [f"annex-III.intersessional-decision-{d}.{n}" for d, count in expected for n in range(1, count + 1)]
    first = next(u for u in parsed.units if u.para == "annex-III.intersessional-decision-1.1")
    assert first.text.startswith("Decides to hold the third Meeting from 3 to 7 March 2025") and first.page == 15
    pre = next(u for u in parsed.units if u.para == "annex-III.intersessional-decision-3.pp2")
    assert pre.kind == "preamble" and pre.text.startswith("Noting the positive effect of the sponsorship programme")
    notes = [(u.text, u.section) for u in parsed.units if u.kind == "footnote" and u.page in (15, 17)]
    # a note belongs to the decision whose heading carries its mark (page 15's note 1 to decisions 1–3)
    assert notes == [
        (
            "Adopted through a silence procedure that expired without objection on 29 July 2024.",
            "Annex III / Intersessional decision 1",
        ),
        (
            "Adopted through a silence procedure that expired without objection on 28 August 2024.",
            "Annex III / Intersessional decision 4",
        ),
        (
            "Adopted through a silence procedure that expired without objection on 3 January 2025.",
            "Annex III / Intersessional decision 5",
        ),
    ]


@needs_dev
def test_draft_resolution_and_decision_in_a_committee_report_are_their_own_parts():
    # A/48/653: body paras 1–12; para. 11 sets out a draft resolution (9 preambular, 13 operative paras),
    # para. 12 a draft decision (7 paras)
    units = _parse("A_48_653.en.pdf").units
    ids = [u.para for u in units if u.kind in ("paragraph", "preamble")]
    body = [str(n) for n in range(1, 12)]
    resolution = [f"para-11.draft-resolution.pp{n}" for n in range(1, 10)]
    resolution += [f"para-11.draft-resolution.{n}" for n in range(1, 14)]
    assert ids == body + resolution + ["12"] + [f"para-12.draft-decision.{n}" for n in range(1, 8)]
    by_id = {u.para: u for u in units}
    assert by_id["para-11.draft-resolution.pp3"].text.startswith("Recalling its resolution 1514 (XV)")
    assert by_id["para-11.draft-resolution.12"].text.startswith("Decides to continue to monitor closely")
    assert by_id["12"].text.startswith("The Special Political and Decolonization Committee (Fourth Committee) also")
    assert by_id["para-12.draft-decision.7"].page == 10
    # footnotes in the older style ("5/ A/48/23 (Part III), chap. V."), no rule above them: 7 of them
    notes = [u for u in units if u.kind == "footnote"]
    assert [u.page for u in notes] == [2, 4, 4, 5, 6, 6, 9]
    assert by_id["fn5"].text == "A/48/23 (Part III), chap. V."
    assert "A/48/23 (Part III), chap. V." not in by_id["para-11.draft-resolution.pp7"].text
    assert label("A/48/653", "para-11.draft-resolution.5") == "A/48/653, para. 11, draft resolution, para. 5"


@needs_dev
def test_draft_resolutions_with_annexed_decisions():
    # E/2025/15/Add.1: body paras 1–6; para. 1 sets out draft resolutions I and II, para. 2 three more,
    # each draft resolution I–III of para. 2 annexing an ECE decision numbered 1–2, 1–2, 1–4
    units = _parse("E_2025_15_Add.1.en.pdf").units
    ids = [u.para for u in units if u.kind == "paragraph"]
    assert [p for p in ids if p.isdigit()] == ["1", "2", "3", "4", "5", "6"]
    assert [p for p in ids if p.startswith("para-1.")] == [f"para-1.draft-resolution-I.annex.{n}" for n in (1, 2, 3)]
    assert [p for p in ids if p.startswith("para-2.")] == [
        *(f"para-2.draft-resolution-I.annex.{n}" for n in (1, 2)),
        *(f"para-2.draft-resolution-II.annex.{n}" for n in (1, 2)),
        *(f"para-2.draft-resolution-III.annex.{n}" for n in (1, 2, 3, 4)),
    ]
    by_id = {u.para: u for u in units}
    assert by_id["para-1.draft-resolution-I.annex.1"].text.startswith("Calls upon the Economic Commission for Africa")
    assert by_id["para-2.draft-resolution-III.annex.4"].page == 8
    pre = [u for u in units if u.para.startswith("para-1.draft-resolution-II.pp")]
    assert [u.text[:22] for u in pre] == ["Taking note of decisio", "Expressing its gratitu"]


@needs_dev
def test_paragraph_numbers_misread_by_ocr_are_repaired_where_the_sequence_proves_them():
    # A/39/361 (1984): paragraph 1 printed "l. upon", 20 "20-", 5 and 12 start in lower case ("on", "rn")
    units = _parse("A_39_361.en.pdf").units
    paragraphs = [u for u in units if u.kind == "paragraph"]
    assert [u.para for u in paragraphs] == [str(n) for n in range(1, 21)]
    assert paragraphs[0].text.startswith("upon assurning my responsibilities at the beginning of 1982")
    assert paragraphs[19].text.startswith("The contacts established between") and paragraphs[19].page == 4
    assert all("Page" not in u.text[:8] for u in units)


@needs_dev
def test_compilation_contributions_are_parts_named_by_their_organisation():
    # E/C.2/2025/2/Add.1: 15 NGO reports, listed in the contents, each under its numbered name
    units = _parse("E_C.2_2025_2_Add.1.en.pdf").units
    sections = {u.section.split(" / ")[0] for u in units if u.page >= 2}
    assert "1. Association de développement agricole, éducatif et sanitaire de Manono" in sections
    assert "15. Bureau pour la croissance intégrale et la dignité de l’enfant" in sections
    aetf = [u for u in units if u.section.startswith("4. Association des étudiants tamouls de France")]
    assert aetf[0].text.startswith("The Association des étudiants tamouls de France (AETF)") and aetf[0].page == 6
    assert any(u.section.endswith(" / Introduction") for u in aetf)


@needs_dev
@pytest.mark.parametrize("name", ["S_2024_207.en.pdf", "S_2024_798.en.pdf"])
def test_the_document_system_placeholder_page_is_refused(name):
    with pytest.raises(BadInput, match="'document does not exist' page, not a document"):
        _parse(name)


@needs_dev
def test_annotated_agenda_items_are_the_sections_of_their_annotations():
    # A/HRC/EMRIP/2025/1: the provisional agenda lists items 1–12, then annotates each under its heading;
    # footnotes 1–6 stand at page feet without a rule
    units = _parse("A_HRC_EMRIP_2025_1.en.pdf").units
    text = [u for u in units if u.kind != "footnote" and u.page >= 2]
    assert text[0].section == "1. Election of officers"
    assert text[0].text.startswith("Pursuant to paragraph 11 of General Assembly resolution 60/251")
    sections = [u.section for u in text]
    assert sections[-1] == "12. Adoption of studies and reports"
    assert (
        "3. Study and advice on the right of Indigenous Peoples to data, including data collection and disaggregation"
        in sections
    )
    notes = [u.text for u in units if u.kind == "footnote"]
    assert notes[:3] == ["A/520/Rev.17.", "See A/HRC/57/64, para. 99.", "A/HRC/EMRIP/2025/2."] and len(notes) == 6
    assert not any("A/520/Rev.17" in u.text for u in text)


@needs_dev
def test_a_starred_note_whose_star_ocr_lost_is_a_footnote_not_paragraph_text():
    # A/39/361 p. 1: "Item 108 of the provisional agenda*", and under the rule at the page foot "* A/39/150.",
    # which the OCR layer gives, without its star or rule, as "A/39/1s0." after paragraph 4
    units = _parse("A_39_361.en.pdf").units
    para4 = next(u for u in units if u.para == "4")
    assert para4.text.endswith("transmitted to the Governments of fndonesia and Portugal.")
    assert "A/39/1s0" not in para4.text
    notes = [(u.page, u.text) for u in units if u.kind == "footnote"]
    assert notes == [(1, "A/39/1s0.")]
    assert [u.para for u in units[:5]] == ["1", "2", "3", "4", "fn1"]


@needs_dev
def test_a_part_kept_as_layout_text_is_warned_about_under_its_name():
    # E/C.2/2025/2/Add.1 pp. 12–14: contribution 9 numbers its paragraphs 1, 3, 4… (no 2); the warning
    # names the organisation, as the part's section does
    parsed = _parse("E_C.2_2025_2_Add.1.en.pdf")
    name = "9. Association locale pour le développement intégral"
    assert parsed.warnings == (
        f"the paragraph numbering of {name} (pages 12–14) could not be read with confidence;"
        " its text is kept as unnumbered units",
    )
    assert any(u.section.startswith(name) for u in parsed.units)
    assert not any("Contribution 9" in w for w in parsed.warnings)
