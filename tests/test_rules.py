"""Table-driven tests of the parser's single rules: text repairs, page furniture, footnote areas,
headings and paragraph segmentation (README, "Units"). Each case is one input and what must come out,
with cases that must be left alone beside the repairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Settings, parse_file
from rag.layout import Line, find_symbol, is_furniture, ref_token, split_page, split_text_pages, strip_reference_marks
from rag.repair import clean_line, finish, is_double_spaced, join_lines, repair_paragraph_numbers, vocabulary
from rag.segment import _COUNCIL, layout_blocks, roman, segment

MASTHEAD = "United Nations S/2099/1\nSecurity Council\nDistr.: General\n1 May 2099\n\n"
FILLER = "Member States reported on the measures taken in the period under review."


def units_of(tmp_path: Path, body: str) -> dict[str, tuple[str, str, str]]:
    """Parse a tiny OCR text document (the masthead, then `body`): para → (kind, section, text)."""
    path = tmp_path / "doc.txt"
    path.write_text(MASTHEAD + body + "\n", encoding="utf-8")
    return {u.para: (u.kind, u.section, u.text) for u in parse_file(path, settings=Settings()).units}


# -- repairs of one line: OCR-split digits, ligatures, whitespace ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "double_spaced", "expected"),
    [
        ("On 1 9 July 20 1 9, the Council adopted", False, "On 19 July 2019, the Council adopted"),
        ("1 1 . Member States highlighted", False, "11 . Member States highlighted"),  # ¶11 (README)
        ("1 9  July  20 1 9", True, "19 July 2019"),  # one space inside a token, two between words
        ("resolution  2 4 8 2  (20 1 9)", True, "resolution 2482 (2019)"),
        ("the ﬁnancial and ﬂow", False, "the financial and flow"),  # ligatures undone
        ("non\u00adgovernmental\u00a0bodies   here ", False, "nongovernmental bodies here"),
        # must not change: legitimate numbers with no lone digit, and numbers between words
        ("between 2010 and 2019", False, "between 2010 and 2019"),
        ("resolution 2482 (2019)", False, "resolution 2482 (2019)"),
        ("from 100 200 people", False, "from 100 200 people"),
        ("in  2019  and  2020", True, "in 2019 and 2020"),
        ("2/18 20-09860", False, "2/18 20-09860"),
        ("1/2 20-09860", False, "1/2 20-09860"),  # a lone digit of a footer is not glued to the job number
        ("20-09860 (E) 030820 2/12", False, "20-09860 (E) 030820 2/12"),
    ],
)
def test_clean_line_ocr(raw, double_spaced, expected):
    assert clean_line(raw, ocr=True, double_spaced=double_spaced) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("On 1 9 July 20 1 9", "On 1 9 July 20 1 9"),  # a PDF's text layer is not OCR: digits stay apart
        ("the ﬁnancial   year", "the financial year"),
    ],
)
def test_clean_line_pdf(raw, expected):
    assert clean_line(raw, ocr=False, double_spaced=False) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("On  19  July  2019,  the  Council", True), ("On 19 July 2019, the Council", False), ("", False)],
)
def test_is_double_spaced(text, expected):
    assert is_double_spaced(text) is expected


# -- hyphens -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("money -laundering and", "money-laundering and"),
        ("proceeds - generating crimes", "proceeds-generating crimes"),
        ("counter¬terrorism agencies", "counter-terrorism agencies"),
        # must not change: real compounds, number ranges, a dash before a capitalised word
        ("counter-terrorism and non-governmental", "counter-terrorism and non-governmental"),
        ("in 2019 - 2020", "in 2019 - 2020"),
        ("Iraq - Syria", "Iraq - Syria"),
    ],
)
def test_spaced_hyphens(text, expected):
    assert finish(text, ocr=True, vocab=vocabulary(text)) == expected


@pytest.mark.parametrize(
    ("lines", "document", "expected"),
    [
        # dropped: the joined word occurs elsewhere in the document, the hyphenated one does not
        (["non-governmental organiza-", "tions and"], "organizations", "non-governmental organizations and"),
        (["counter¬", "terrorism agencies"], "counterterrorism", "counterterrorism agencies"),
        # kept: the joined word does not occur elsewhere
        (["counter¬", "terrorism agencies"], "terrorism", "counter-terrorism agencies"),
        (["the highest-", "profile casualty"], "", "the highest-profile casualty"),
        (["proceeds -", "generating crimes"], "", "proceeds-generating crimes"),
        # kept: both forms occur elsewhere, and the hyphenated one counts
        (["counter-", "terrorism"], "counterterrorism counter-terrorism", "counter-terrorism"),
        # not a hyphenation: the next line starts with a digit; a web address is joined without a space
        (["the 2019-", "2020 period"], "", "the 2019- 2020 period"),
        (["at https://www.un.org/", "securitycouncil"], "", "at https://www.un.org/securitycouncil"),
        (["first", "", "second"], "", "first second"),
    ],
)
def test_line_end_hyphens(lines, document, expected):
    assert join_lines(lines, vocabulary(document)) == expected


# -- misread letters (OCR "n" for "u") -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "document", "expected"),
    [
        ("Investigation and prosecntion", "prosecution prosecution", "Investigation and prosecution"),
        ("Secnrity Council", "security security security", "Security Council"),
        ("the commnnication", "communication communication", "the communication"),
        # must not change: the repaired form is absent or not common; the word itself is common
        ("Investigation and prosecntion", "", "Investigation and prosecntion"),
        ("Investigation and prosecntion", "prosecution", "Investigation and prosecntion"),
        ("anger at the auger", "anger anger auger auger auger", "anger at the auger"),
        ("the Sudan", "Sudan Sudan sudau sudau", "the Sudan"),
    ],
)
def test_misread_letters(text, document, expected):
    assert finish(text, ocr=True, vocab=vocabulary(f"{document} {text}")) == expected


def test_misread_letters_only_in_ocr_text():
    assert finish("prosecntion", ocr=False, vocab=vocabulary("prosecution prosecution prosecntion")) == "prosecntion"


# -- stray footnote marks and spacing around punctuation ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ocr", "expected"),
    [
        ("resolution 2462 (2019).' Some", True, "resolution 2462 (2019). Some"),
        ("terrorism,’ and", True, "terrorism, and"),
        ("the report^ of", True, "the report of"),
        ("the courts ’jurisdiction", True, "the courts’ jurisdiction"),
        ("Da ’esh and the world ’s", False, "Da’esh and the world’s"),
        ("the System .", False, "the System."),
        (f"the threat{ref_token(4)} grows", False, "the threat grows"),  # a stripped reference mark
        # must not change: apostrophes and quotes that belong to the text, and PDF text
        ("the world’s largest, Member States’ duties", True, "the world’s largest, Member States’ duties"),
        ("“Da’esh”, it said", True, "“Da’esh”, it said"),
        ("resolution 2462 (2019).' Some", False, "resolution 2462 (2019).' Some"),
    ],
)
def test_stray_marks_and_spacing(text, ocr, expected):
    assert finish(text, ocr=ocr, vocab=vocabulary(text)) == expected


# -- footnote reference numbers glued to words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "mark", "expected"),
    [
        ("the Levant1 and", 1, f"the Levant{ref_token(1)} and"),
        ("the threat4.", 4, f"the threat{ref_token(1)}."),
        ("“Da’esh”)2 and", 2, f"“Da’esh”){ref_token(1)} and"),
        ("the report. 3 It was", 3, f"the report.{ref_token(1)} It was"),
        ("structures, 5 Da’esh", 5, f"structures,{ref_token(1)} Da’esh"),
        # must not change: numbers that are not the page's footnote marks, or not glued to a word
        ("the Levant1 and", 2, "the Levant1 and"),
        ("paragraph 4 of resolution 2462 (2019)", 4, "paragraph 4 of resolution 2462 (2019)"),
        ("the COVID-19 pandemic", 19, "the COVID-19 pandemic"),
        ("the G20 summit", 20, "the G20 summit"),  # a name with a number (G20, COP28) keeps it
    ],
)
def test_reference_marks(line, mark, expected):
    out = strip_reference_marks([Line(1, line)], [(mark, 1)])
    assert [ln.text for ln in out] == [expected]


# -- the document symbol and page furniture ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["United Nations S/2020/754", "Security Council"], "S/2020/754"),
        (["Security Council", "S/RES/2768 (2025)"], "S/RES/2768 (2025)"),
        (["s/2020/754"], "S/2020/754"),  # OCR lower case
        (["United Nations System  CEB/2025/4"], "CEB/2025/4"),  # a longer masthead
        (["Организация Объединенных Наций  CEDAW/C/CAF/CO/6"], "CEDAW/C/CAF/CO/6"),  # another script
        (["A/39/36I"], "A/39/361"),  # OCR: I for 1
        (["S/2O20/754"], "S/2020/754"),  # OCR: O for 0
        (["United Nations S /2020/ 754"], "S/2020/754"),  # OCR: spaces
        (["United Nations A/79/796-S/2025/105"], "A/79/796-S/2025/105"),  # a joint symbol, whole
        (["see https://undocs.org/S/2020/754"], None),
        (["E/C.20/2025/11"], "E/C.20/2025/11"),
        (["Security Council", "Distr.: General", "1 May 2099"], None),
        (["UN/DESA and/or others"], None),
        ([*["text"] * 40, "S/2020/754"], None),  # only the top of the first page
    ],
)
def test_find_symbol(lines, expected):
    assert find_symbol(lines) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("S/2020/754", True),
        ("s/2020/754", True),
        ("S /2020/ 754", True),
        ("20-09860 (E) 030820", True),
        ("20-09860", True),
        ("2/18 20-09860", True),
        ("20-09860 3/18", True),
        ("4/18", True),
        ("*2009860*", True),
        ("llllllllllllllllllllll", True),  # an OCR-read barcode
        ("GE.25-05965 (E)", True),  # a Geneva job number
        ("84-I7984 1304q (E)", True),  # an OCR-misread job number (A/39/361)
        # must not be taken for furniture: another document's symbol and ordinary lines
        ("S/2020/755", False),
        ("resolution 2462 (2019)", False),
        ("1. The Security Council", False),
        ("Distr.: General", False),
        ("2019-2020", False),
    ],
)
def test_is_furniture(line, expected):
    assert is_furniture(line, "S/2020/754") is expected


def test_symbol_is_not_furniture_without_a_symbol():
    assert is_furniture("S/2020/754", None) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("page one\fpage two", ["page one", "page two"]),
        ("S/2020/754\nfirst\nS/2020/754\nsecond", ["S/2020/754\nfirst", "S/2020/754\nsecond"]),
        ("S/2020/754\nfirst\ns/2020/ 754\nsecond", ["S/2020/754\nfirst", "s/2020/ 754\nsecond"]),
        ("no symbol\nat all", ["no symbol\nat all"]),
    ],
)
def test_split_text_pages(text, expected):
    assert split_text_pages(text, "S/2020/754") == expected


# -- footnote areas --------------------------------------------------------------------------------------


def page_lines(spec: str) -> list[Line]:
    """Lines of page 1 from "|"-separated text; a leading ">" marks an indented line."""
    return [Line(1, t.removeprefix(">"), indent=t.startswith(">")) for t in spec.split("|")]


@pytest.mark.parametrize(
    ("spec", "next_fn", "ocr", "body", "notes"),
    [
        # after a separator rule: numbered notes, furniture dropped
        (
            "1. Text.|__________|1 See the report.|2 Another note|that goes on.|20-09860 1/18",
            1,
            False,
            ["1. Text."],
            [(1, ("See the report.",), False)] + [(2, ("Another note", "that goes on."), False)],
        ),
        # a note carried over from the previous page, then the next expected note
        (
            "2. Text.|__________|of the previous note.|4 A new note.",
            4,
            False,
            ["2. Text."],
            [(None, ("of the previous note.",), True), (4, ("A new note.",), False)],
        ),
        # a line starting with an unexpected number continues the note; an annex restarts at 1
        (
            "Text.|__________|3 Note three lists|45 countries.|1 First note of the annex.",
            3,
            False,
            ["Text."],
            [(3, ("Note three lists", "45 countries."), False), (1, ("First note of the annex.",), False)],
        ),
        # indented notes: an unindented line with a number is a continuation
        (
            "Text.|__________|>3 Note three lists|4 countries.|>4 Note four.",
            3,
            False,
            ["Text."],
            [(3, ("Note three lists", "4 countries."), False), (4, ("Note four.",), False)],
        ),
        # a PDF page without a separator has no footnote area, only furniture to drop
        ("S/2020/754|1. Text.|2 Not a note.|4/18", 1, False, ["1. Text.", "2 Not a note."], []),
        # a PDF page without a rule: a star in its head, and a last line that is only a document symbol
        # after a finished sentence, is the star's note, its "*" lost by OCR (A/39/361: "A/39/1s0.")
        (
            "Item 108 of the provisional agenda*|1. Text goes|on to Portugal.|A/39/1s0.|84-17984 1304q (E)",
            1,
            False,
            ["Item 108 of the provisional agenda*", "1. Text goes", "on to Portugal."],
            [(None, ("A/39/1s0.",), False)],
        ),
        (
            "Agenda item 4*|1. Text.|* A/79/150.",
            1,
            False,
            ["Agenda item 4*", "1. Text."],
            [(None, ("A/79/150.",), False)],
        ),
        # no star in the head, or a sentence running on into the symbol: the symbol is body text
        ("Item 108|1. Text.|A/39/150.", 1, False, ["Item 108", "1. Text.", "A/39/150."], []),
        ("Item 4*|1. As set out in|A/39/150.", 1, False, ["Item 4*", "1. As set out in", "A/39/150."], []),
        # OCR text has no rule: marked blocks at the page foot, or blocks among the footer lines
        (
            "1. Text.||^ This includes cooperation.||20-09860 8/18",
            1,
            True,
            ["1. Text."],
            [(None, ("This includes cooperation.",), False)],
        ),
        (
            "1. Text.||2 See the joint report|of 2019.||4/18",
            2,
            True,
            ["1. Text."],
            [(2, ("See the joint report", "of 2019."), False)],
        ),
        (
            "1. Text.|goes on|and on.||4/18||See the annex.",
            1,
            True,
            ["1. Text.", "goes on", "and on."],
            [(None, ("See the annex.",), False)],
        ),
        # OCR: a counter at the page head is a header, not a footer: what follows it is body text
        (
            "S/2020/754|The heading|4/18||It goes on here.|and more.|and more.|and more.",
            1,
            True,
            ["The heading", "", "It goes on here.", "and more.", "and more.", "and more."],
            [],
        ),
        # OCR: a numbered paragraph (also "1 1 .") or an unmarked block ending the page is body text
        ("1. Text.||2. Next paragraph.||4/18", 1, True, ["1. Text.", "", "2. Next paragraph."], []),
        ("1. Text.||11 . Next paragraph.", 1, True, ["1. Text.", "", "11 . Next paragraph."], []),
        ("1. Text.||It goes on here.", 1, True, ["1. Text.", "", "It goes on here."], []),
    ],
)
def test_footnote_areas(spec, next_fn, ocr, body, notes):
    out_body, out_notes = split_page(page_lines(spec), "S/2020/754", next_fn, ocr=ocr)
    assert [ln.text for ln in out_body] == body
    assert [(n.mark, n.lines, n.continues) for n in out_notes] == notes


# -- headings and the section path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "sections"),
    [
        (f"I. Introduction\n\n1. {FILLER}", {"1": "I. Introduction"}),
        (
            f"II. Findings\n\nA. Organized crime\n\n1. {FILLER}\n\nB. Financing\n\n2. {FILLER}",
            {"1": "II.A Organized crime", "2": "II.B Financing"},
        ),
        (f"A. Organized crime\n\n1. {FILLER}", {"1": "A. Organized crime"}),
        (f"Chapter IV\nConcluding observations\n\n1. {FILLER}", {"1": "IV. Concluding observations"}),
        (
            f"I. Introduction\n\n1. {FILLER}\n\nII. Findings of the Panel\non Yemen\n\n2. {FILLER}",
            {"1": "I. Introduction", "2": "II. Findings of the Panel on Yemen"},
        ),  # a wrapped heading
        (
            f"I. Introduction\n\nA. Scope\n\n1. {FILLER}\n\nII. Findings\n\nA. Crime\n\n2. {FILLER}",
            {"1": "I.A Scope", "2": "II.A Crime"},
        ),  # letters restart in each chapter
        (
            f"II. Findings\n\nA. Crime\n\n1. {FILLER}\n\nClimate action\n\n2. {FILLER}",
            {"1": "II.A Crime", "2": "II.A Crime / Climate action"},
        ),  # an unnumbered sub-heading
        # must not be headings: a Roman numeral out of sequence, a letter out of sequence
        (
            f"I. Introduction\n\n1. {FILLER}\nV. Vitamins were listed.\n\n2. {FILLER}",
            {"1": "I. Introduction", "2": "I. Introduction"},
        ),
        (
            f"I. Introduction\n\n1. {FILLER}\nC. Smith reported it.\n\n2. {FILLER}",
            {"1": "I. Introduction", "2": "I. Introduction"},
        ),
    ],
)
def test_sections(tmp_path, body, sections):
    units = units_of(tmp_path, body)
    assert {para: units[para][1] for para in sections} == sections


@pytest.mark.parametrize(
    ("body", "para", "ends", "section"),
    [
        # a heading between two numbered paragraphs heads the next one, not the end of the first
        (
            f"I. Introduction\n\n1. {FILLER}\n\nCoordination with the African Union Transition Mission in Somalia "
            f"and its partners in the region\n\n2. {FILLER}",
            "1",
            "under review.",
            "I. Introduction",
        ),
        (
            f"I. Introduction\n\n1. {FILLER}\n\nCoordination with the African Union Transition Mission in Somalia "
            f"and its partners in the region\n\n2. {FILLER}",
            "2",
            "under review.",
            "I. Introduction / Coordination with the African Union Transition Mission in "
            "Somalia and its partners in the region",
        ),
        # a numbered heading loses its number ("3. Coordination with …", README)
        (
            "I. Introduction\n\n"
            + "\n\n".join(f"{n}. {FILLER}" for n in range(1, 7))
            + f"\n\n3. Coordination with the African Union\n\n7. {FILLER}",
            "7",
            "under review.",
            "I. Introduction / Coordination with the African Union",
        ),
        (
            "I. Introduction\n\n"
            + "\n\n".join(f"{n}. {FILLER}" for n in range(1, 7))
            + f"\n\n3. Coordination with the African Union\n\n7. {FILLER}",
            "6",
            "under review.",
            "I. Introduction",
        ),
        # a heading over two lines
        (
            f"I. Introduction\n\n1. {FILLER}\n\nCoordination with the African Union\nand the League of Arab States"
            f"\n\n2. {FILLER}",
            "2",
            "under review.",
            "I. Introduction / Coordination with the African Union and the League of Arab States",
        ),
        (  # a long heading (over 160 characters) is not glued to the paragraph before it
            f"I. Introduction\n\n1. {FILLER}\n\n"
            + "Coordination with "
            + " and ".join(["the African Union"] * 10)
            + f"\n\n2. {FILLER}",
            "1",
            "under review.",
            "I. Introduction",
        ),
    ],
)
def test_heading_between_paragraphs(tmp_path, body, para, ends, section):
    kind, sec, text = units_of(tmp_path, body)[para]
    assert (kind, sec, text[-len(ends) :]) == ("paragraph", section, ends)


# -- paragraph numbering -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "paras"),
    [
        (f"1. {FILLER}\n\n2. {FILLER}", {"1": FILLER, "2": FILLER}),
        (f"1 . {FILLER}\n\n2. {FILLER}", {"1": FILLER, "2": FILLER}),  # OCR: a space before the dot
        (
            "\n\n".join(f"{n}. {FILLER}" for n in range(1, 11)) + f"\n\n1 1 . {FILLER}\n\n12. {FILLER}",
            {"10": FILLER, "11": FILLER, "12": FILLER},
        ),  # OCR-split digits: ¶11
        (f"1. {FILLER}\nIt goes on.\n\n2. {FILLER}", {"1": f"{FILLER} It goes on.", "2": FILLER}),
        # must not start a paragraph: a number going on in lower case, a number out of sequence
        (
            f"1. The Council counted\n2. million people displaced.\n\n2. {FILLER}",
            {"1": "The Council counted 2. million people displaced.", "2": FILLER},
        ),
        (
            f"1. {FILLER} It counted\n45. Member States in all.\n\n2. {FILLER}",
            {"1": f"{FILLER} It counted 45. Member States in all.", "2": FILLER},
        ),
    ],
)
def test_numbered_paragraphs(tmp_path, body, paras):
    units = units_of(tmp_path, body)
    assert {para: units[para][2] for para in paras} == paras
    assert all(units[para][0] == "paragraph" for para in paras)


def test_skipped_number_is_warned_about():
    lines = [Line(1, t) for t in f"1. {FILLER}||3. {FILLER}".split("|")]
    out = segment(lines, doc="X", ocr=True, vocab=vocabulary(FILLER))
    assert [u.para for u in out.units] == ["1", "3"] and out.warnings == ("paragraph numbering skips 2",)


# -- resolutions: preambular and operative paragraphs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "paras"),
    [
        (
            "The Security Council,\n\nRecalling its resolutions on Yemen,\n\nCondemning the attacks,\n\n"
            "1. Decides to extend the mandate;\n\n2. Decides to remain seized of the matter.",
            {
                "pp1": "Recalling its resolutions on Yemen,",
                "pp2": "Condemning the attacks,",
                "1": "Decides to extend the mandate;",
                "2": "Decides to remain seized of the matter.",
            },
        ),
        # no gaps: an opener word after a line ending in "," starts the next preambular paragraph
        (
            "The Security Council,\nRecalling its resolutions on the\nsituation in Yemen,\nMindful of the Charter,\n"
            "Reaffirming its commitment;\n1. Decides to extend the mandate.",
            {
                "pp1": "Recalling its resolutions on the situation in Yemen,",
                "pp2": "Mindful of the Charter,",
                "pp3": "Reaffirming its commitment;",
                "1": "Decides to extend the mandate.",
            },
        ),
        # a capitalised line that is no opener continues the paragraph
        (
            "The General Assembly,\nRecalling the Charter of the\nUnited Nations,\n1. Decides to act.",
            {"pp1": "Recalling the Charter of the United Nations,", "1": "Decides to act."},
        ),
        # an indented line with a capital starts one
        (
            "The Security Council,\n  Recalling resolution 2216 (2015),\n  Noting the report,\n1. Decides to act.",
            {"pp1": "Recalling resolution 2216 (2015),", "pp2": "Noting the report,", "1": "Decides to act."},
        ),
        # only paragraph 1 ends the preamble
        (
            "The Security Council,\nRecalling paragraph\n2. of resolution 2216 (2015),\n\n1. Decides to act.",
            {"pp1": "Recalling paragraph 2. of resolution 2216 (2015),", "1": "Decides to act."},
        ),
    ],
)
def test_resolution_preamble(tmp_path, body, paras):
    units = units_of(tmp_path, body)
    assert {para: text for para, (_, _, text) in units.items()} == paras
    assert {para: kind for para, (kind, _, _) in units.items()} == {
        p: "preamble" if p.startswith("pp") else "paragraph" for p in paras
    }


# -- annexes, layout blocks, Roman numerals -------------------------------------------------------------------


def test_annex_text_is_unnumbered_and_labelled(tmp_path):
    units = units_of(tmp_path, f"I. Introduction\n\n1. {FILLER}\n\n2. {FILLER}\n\nAnnex II\n\n3. Not a paragraph.")
    assert [(p, k, s) for p, (k, s, _) in units.items()] == [
        ("1", "paragraph", "I. Introduction"),
        ("2", "paragraph", "I. Introduction"),
        ("p1.1", "text", "Annex II"),
    ]


@pytest.mark.parametrize(
    ("annex", "section", "first"),
    [
        # a title of a few lines under the heading, then an indented paragraph: the title is the section's
        (
            "Annex II\n Parties on notice for potential listing in the next\nreport\n"
            "  Due to the denial of access, it has\nbeen challenging.",
            "Annex II Parties on notice for potential listing in the next report",
            "Due to the denial of access, it has been challenging.",
        ),
        ("Appendix\nDocumentation\n  The Meeting had the documents.", "Appendix Documentation", "The Meeting had"),
        # a first line that ends a sentence is text, not a title
        ("Annex\nThe list is not complete.\n  Parties in Mali", "Annex", "The list is not complete."),
        # a paragraph wrapping over unindented lines is text, however it goes on
        ("Annex\n  The following list does not purport to be\ncomprehensive, but includes", "Annex", "The following"),
        # more lines than a title takes are text
        ("Annex\nOne\nTwo\nThree\nFour\nFive\n  Text here.", "Annex", "One Two"),
    ],
)
def test_annex_title_is_its_section(tmp_path, annex, section, first):
    units = units_of(tmp_path, f"I. Introduction\n\n1. {FILLER}\n\n2. {FILLER}\n\n{annex}")
    kind, where, text = units["p1.1"]
    assert (kind, where) == ("text", section)
    assert text.startswith(first)


@pytest.mark.parametrize(
    ("spec", "blocks"),
    [
        ("First line|goes on.||Second block.", [["First line", "goes on."], ["Second block."]]),
        # a short sentence-final line ends a block; a capitalised indented line starts one
        (
            "A long line of text that fills the width|ends here.|Next block.",
            [["A long line of text that fills the width", "ends here."], ["Next block."]],
        ),
        (
            "A long line of text that fills the width.|>Indented start.",
            [["A long line of text that fills the width."], ["Indented start."]],
        ),
        # must not split: a full-width line ending a sentence, or a lower-case line after a short one
        (
            "A long line of text that fills the width.|Goes on.",
            [["A long line of text that fills the width.", "Goes on."]],
        ),
        ("Short.|and on.", [["Short.", "and on."]]),
    ],
)
def test_layout_blocks(spec, blocks):
    lines = [Line(1, t.removeprefix(">"), indent=t.startswith(">")) for t in spec.split("|")]
    assert [[ln.text for ln in b] for b in layout_blocks(lines)] == blocks


@pytest.mark.parametrize(("numeral", "value"), [("I", 1), ("IV", 4), ("IX", 9), ("XIV", 14), ("XL", 40), ("L", 50)])
def test_roman(numeral, value):
    assert roman(numeral) == value


# -- a whole tiny OCR document: furniture, footnotes at the page foot, glued reference marks ---------------------


@pytest.mark.parametrize(
    ("footer1", "footer2"),
    [
        ("1/12\n20-09860", "20-09860 (E) 030820\n2/12\n*2009860*"),
        ("11/12 20-09860", "20-09860 12/12"),
        ("1/2 20-09860", "20-09860 (E) 030820 2/2"),
    ],
)
def test_ocr_page_furniture_and_footnote(tmp_path, footer1, footer2):
    body = (
        f"I. Introduction\n\n1. The threat4 grows in the region. {FILLER}\n\n4 See the joint report of 2019."
        f"\n\n{footer1}\n\fS/2099/1\n\n2. {FILLER}\n\n{footer2}"
    )
    units = units_of(tmp_path, body)
    assert units == {
        "1": ("paragraph", "I. Introduction", f"The threat grows in the region. {FILLER}"),
        "fn1": ("footnote", "I. Introduction", "See the joint report of 2019."),
        "2": ("paragraph", "I. Introduction", FILLER),
    }


# -- paragraph numbers misread by OCR, repaired only where the numbers around prove them -----------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["l. upon assuming", "text", "2. I then"], ["1. upon assuming", "text", "2. I then"]),
        (["19. The", "20- The contacts"], ["19. The", "20. The contacts"]),
        (["1O. On 16 March", "11. Since"], ["1O. On 16 March", "11. Since"]),  # 9 is not before it
        (["9. On", "1O. On 16 March", "11. Since"], ["9. On", "10. On 16 March", "11. Since"]),
        (["1. A", "l. B", "2. C"], ["1. A", "l. B", "2. C"]),  # 1 is already there
        (["l. alone"], ["l. alone"]),  # nothing proves it
        (["3. A", "20- years later", "4. B"], ["3. A", "20- years later", "4. B"]),  # not the next number
    ],
)
def test_repair_paragraph_numbers(lines, expected):
    assert repair_paragraph_numbers(lines) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("The Meeting of States Parties,", True),
        ("The Economic Commission for Europe,", True),
        ("The Conference of Ministers,", True),
        ("The Security Council,", True),
        ("The Secretary-General,", False),  # one word: a person, not a body adopting a text
        ("The report of the Secretary-General,", False),
    ],
)
def test_adopting_body_line(line, expected):
    assert bool(_COUNCIL.fullmatch(line)) is expected
