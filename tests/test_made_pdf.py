"""A PDF written by the test (header, footer, page counter, a paragraph across a page break, a
footnote) parses to the same units as the text it was made from, with the pages the writer used."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from rag import Settings, parse_file

SYMBOL = "S/2099/17"
FRONT = [
    "United Nations S/2099/17",
    "Security Council",
    "Distr.: General",
    "3 March 2099",
    "Report of the Secretary-General on the test of parsers",
]
SENTENCE = (
    "Member States reported measures to counter the financing of terrorism through cooperation between "
    "financial intelligence units, customs authorities and prosecutors, supported by regional bodies. "
)
BLOCKS: list[tuple[str, str]] = [
    ("heading", "I. Introduction"),
    (
        "para",
        "1. The present report responds to resolution 2999 (2098), in which the Council asked for an "
        "account of the measures taken. " + SENTENCE * 2,
    ),
    ("para", "2. Several States described a persistent threat|1| to maritime security in the region. " + SENTENCE * 3),
    ("heading", "II. Action by Member States"),
    ("heading", "A. Legislative responses"),
    *[("para", f"{n}. " + f"In the {n}th reported case, " + SENTENCE * (2 + n % 3)) for n in range(3, 9)],
    ("heading", "B. Border security"),
    *[("para", f"{n}. " + SENTENCE * (1 + n % 4) + "Further efforts would be beneficial.") for n in range(9, 13)],
]
FOOTNOTE = "See the joint report of the Monitoring Team (S/2098/493, annex)."


class _Report(FPDF):
    footnote_page: int | None = None

    def header(self) -> None:
        self.set_font("Helvetica", size=9)
        self.cell(0, 5, SYMBOL, align="R" if self.page_no() % 2 else "L", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        if self.page_no() == self.footnote_page:
            self.set_y(-42)
            self.set_font("Helvetica", size=8)
            self.cell(0, 4, "__________________", new_x="LMARGIN", new_y="NEXT")
            self.multi_cell(0, 4, f"1  {FOOTNOTE}", new_x="LMARGIN", new_y="NEXT")
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, f"99-01234 {self.page_no()}/{{nb}}", align="L")


def _write(path: Path) -> dict[str, int]:
    pdf = _Report(format=(148, 210))
    pdf.set_auto_page_break(True, margin=48)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in FRONT:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    starts: dict[str, int] = {}
    for kind, text in BLOCKS:
        if pdf.will_page_break(10):
            pdf.add_page()
        if kind == "heading":
            pdf.set_font("Helvetica", style="B", size=10)
            pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=10)
        else:
            starts[text.split(".", 1)[0]] = pdf.page_no()
            before, mark, after = (text.split("|") + ["", ""])[:3]
            pdf.write(5, before)
            if mark:
                pdf.footnote_page = pdf.page_no()
                pdf.char_vpos = "SUP"
                pdf.write(5, mark)
                pdf.char_vpos = "LINE"
                pdf.write(5, after)
            pdf.ln(5)
        pdf.ln(3)
    pdf.output(str(path))
    return starts


def _source_text() -> str:
    body = "\n\n".join(text.replace("|1|", "1") for _, text in BLOCKS)
    return "\n".join(FRONT) + "\n\n" + body + f"\n\n__________________\n1 {FOOTNOTE}\n"


def test_made_pdf_matches_its_source_text(tmp_path: Path) -> None:
    pdf_path, txt_path = tmp_path / "report.pdf", tmp_path / "report.txt"
    starts = _write(pdf_path)
    txt_path.write_text(_source_text(), encoding="utf-8")
    from_pdf = parse_file(pdf_path, settings=Settings())
    from_txt = parse_file(txt_path, settings=Settings())

    def key(units, kind):  # footnotes sit at their page's foot in the PDF, at the end of the text
        return [(u.doc, u.para, u.kind, u.section, u.text) for u in units if (u.kind == "footnote") == kind]

    assert key(from_pdf.units, False) == key(from_txt.units, False)
    assert key(from_pdf.units, True) == key(from_txt.units, True)
    assert [u.para for u in from_pdf.units if u.kind == "paragraph"] == [str(n) for n in range(1, 13)]
    assert from_pdf.document.id == SYMBOL and from_pdf.document.pages >= 3
    pages = {u.para: u.page for u in from_pdf.units if u.kind == "paragraph"}
    assert pages == {p: starts[p] for p in pages}
    note = next(u for u in from_pdf.units if u.kind == "footnote")
    assert note.para == "fn1" and note.text == FOOTNOTE and note.page == pages["2"]
    assert "persistent threat to maritime security" in next(u.text for u in from_pdf.units if u.para == "2")
    # at least one paragraph runs across a page break and still comes out whole
    spans = [p for p in pages if pages.get(str(int(p) + 1), pages[p]) > pages[p]]
    assert spans, "the made PDF should have a paragraph that starts on one page and ends on the next"
