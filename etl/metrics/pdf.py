"""The outcomes report as a PDF: the same tables as the HTML report (etl/metrics/report.py, through the same
disclosure rule), laid out for print with reportlab.

Names are data, never markup: every text that reaches a reportlab Paragraph is XML-escaped, and a name longer than
NAME_CHARS is cut (with an ellipsis) so that no cell outgrows a page. The font is DejaVu Sans when the system has it
(most Linux machines), else the Bitstream Vera that reportlab ships; nothing is fetched.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from etl.metrics.disclosure import public_rule
from etl.metrics.outcomes import DEFAULT_MIN_CELL, DEFINITIONS, Filters
from etl.metrics.report import BREAKDOWNS, EQUITY, describe_population, report_tables, text_of
from etl.office import office
from etl.warehouse import Connection

NAME_CHARS = 80
BLANK = "—"  # a figure left blank by the disclosure rule, as the dashboard shows it
SYSTEM_FONTS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
                Path("/usr/local/share/fonts/dejavu"))


def _fonts() -> tuple[str, str]:
    """Register a regular and a bold TrueType font once; their names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "mio" in pdfmetrics.getRegisteredFontNames():
        return "mio", "mio-bold"
    import reportlab

    pairs = [(folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf") for folder in SYSTEM_FONTS]
    bundled = Path(reportlab.__file__).parent / "fonts"
    regular, bold = next(((r, b) for r, b in pairs if r.exists() and b.exists()),
                         (bundled / "Vera.ttf", bundled / "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont("mio", str(regular)))
    pdfmetrics.registerFont(TTFont("mio-bold", str(bold)))
    return "mio", "mio-bold"


def _short(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[:NAME_CHARS - 1] + "…"


def outcomes_pdf(con: Connection, filters: Filters = Filters(),
        min_cell: int = DEFAULT_MIN_CELL) -> bytes:
    """The outcomes report as one PDF document (A4 portrait)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#555555"))
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9)
    number = ParagraphStyle("number", parent=cell, alignment=TA_RIGHT)
    head = ParagraphStyle("head", parent=cell, fontName=bold, fontSize=7)
    head_number = ParagraphStyle("head_number", parent=head, alignment=TA_RIGHT)
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=4)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    def grid(frame: pl.DataFrame, first: str) -> Table:
        columns = [first if c == "group" else c for c in frame.columns]
        numeric = [frame.schema[c].is_numeric() for c in frame.columns]
        rows = [[Paragraph(escape(c.replace("_", " ")), head_number if n else head)
                 for c, n in zip(columns, numeric, strict=True)]]
        for values in frame.iter_rows():
            rows.append([Paragraph(escape(_short(text_of(c, v) or BLANK)), number if n else cell)
                         for c, v, n in zip(frame.columns, values, numeric, strict=True)])
        width = (A4[0] - 30 * mm)
        names = [c for c in frame.columns if c in ("group", "cohort")][:1]
        key = 40 * mm if names else 0
        rest = (width - key) / max(1, len(columns) - len(names))
        widths = [key if c in names else (rest if c != "rank" else rest * 0.6) for c in frame.columns]
        widths = [w * width / sum(widths) for w in widths]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#444444")),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#dddddd")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]))
        return table

    tables = report_tables(con, filters, min_cell)
    mine = office()
    story = []
    if mine.name:
        story.append(para(mine.name, head))
    story += [Paragraph("Micro-internship outcomes", h1),
              para(f"Population: {describe_population(filters)}. Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
                   f"{public_rule(min_cell)}", small)]
    overall = tables["overall"]
    if overall.is_empty():
        story.append(para("No applications match this population."))
    else:
        row = overall.row(0, named=True)
        boxes = [("Students engaged", "applicants"), ("Applications", "applications"), ("Completed projects",
                 "completed"), ("Offer rate", "offer_rate"), ("Conversion rate", "conversion_rate"),
                 ("Acceptance rate", "acceptance_rate"), ("Completion rate", "completion_rate"),
                 ("Median days to offer", "median_days_to_offer")]
        figures = [[Paragraph(escape(label), small) for label, _ in boxes[:4]],
                   [Paragraph(escape(text_of(key, row[key]) or "—"), h2) for _, key in boxes[:4]],
                   [Paragraph(escape(label), small) for label, _ in boxes[4:]],
                   [Paragraph(escape(text_of(key, row[key]) or "—"), h2) for _, key in boxes[4:]]]
        story += [Spacer(1, 4 * mm), Table(figures, colWidths=[(A4[0] - 30 * mm) / 4] * 4)]
        story += [Paragraph("Offer rate by industry", h2), grid(tables["industry"], "industry"),
                  para("ci low and ci high: the 95% Wilson interval of the offer rate.", small)]
        for dimension, title in BREAKDOWNS:
            story += [Paragraph(escape(title), h2), grid(tables[dimension], dimension.replace("_", " "))]
        for dimension, title in EQUITY:
            story += [Paragraph(escape(f"Equity: {title}"), h2), grid(tables[dimension], dimension.replace("_", " "))]
        story += [Paragraph("First destinations (NACE)", h2), grid(tables["destinations"], "cohort"),
                  para("Participation is not random: a gap between participants and others is an association, not an "
                       "effect.", small)]
        story.append(Paragraph("Definitions", h2))
        story += [para(f"{name.replace('_', ' ')}: {meaning}", small) for name, meaning in DEFINITIONS.items()]
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                                 bottomMargin=15 * mm, title="Micro-internship outcomes", author=mine.name or "mio")
    document.build(story)
    return out.getvalue()
