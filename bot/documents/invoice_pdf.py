"""An invoice as a PDF (fpdf2): the partner's name, the customer, dates, lines, total, payments
received and how to pay, in the conversation's language (English or Chinese)."""
from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy.orm import Session

from bot.billing.invoices import customer_name, find_invoice, partner_name
from bot.config import Settings
from bot.replies import Phrases

# Unicode fonts from Debian's packages (scripts/setup.sh installs them): DejaVu for Latin text,
# Droid Sans Fallback for Chinese characters (it has no Latin glyphs, so it is the fallback).
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONTS = (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
             Path("/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf"))


def _font(pdf: FPDF) -> str:
    if not LATIN_FONT.exists():
        return "helvetica"  # Latin-1 only: enough for an English invoice
    pdf.add_font("body", fname=str(LATIN_FONT))
    cjk = next((path for path in CJK_FONTS if path.exists()), None)
    if cjk is not None:
        pdf.add_font("cjk", fname=str(cjk))
        pdf.set_fallback_fonts(["cjk"])
    return "body"


def invoice_pdf(session: Session, customer_id: str, number: str, language: str = "en",
                settings: Settings | None = None) -> bytes | None:
    """The PDF of the customer's invoice `number`; None when they have no such invoice (a foreign
    invoice and a missing one are the same)."""
    invoice = find_invoice(session, customer_id, number)
    if invoice is None:
        return None
    phrases = Phrases(language if language in ("en", "zh") else "en", settings)

    def label(key: str, **values: object) -> str:
        return phrases.say(f"invoice_pdf.{key}", **values)

    pdf = FPDF(format="A4")
    pdf.set_title(label("title", number=invoice.number))
    pdf.set_author(partner_name(session, customer_id))
    pdf.set_creator("billing help desk")
    pdf.add_page()
    font = _font(pdf)
    pdf.set_font(font, size=18)
    pdf.cell(0, 10, partner_name(session, customer_id), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=14)
    pdf.cell(0, 9, label("title", number=invoice.number), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(font, size=10)
    facts = [
        (label("billed_to"), f"{customer_name(session, customer_id)} ({customer_id})"),
        (label("period"), phrases.month(invoice.period)),
        (label("issued"), phrases.day(invoice.issue_date)),
        (label("due"), phrases.day(invoice.due_date)),
        (label("status"), label("paid") if invoice.is_paid else
         label("outstanding", amount=phrases.money(invoice.outstanding, invoice.currency))),
    ]
    for name, value in facts:
        pdf.cell(40, 6, name)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(130, 50), text_align=("LEFT", "RIGHT"), first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(230, 236, 242))) as table:
        table.row([label("description"), label("amount")])
        for line in invoice.lines:
            table.row([line.description, phrases.money(line.amount, invoice.currency)])
        table.row([label("total"), phrases.money(invoice.total, invoice.currency)])
    if invoice.payments:
        pdf.ln(4)
        pdf.cell(0, 6, label("payments"), new_x="LMARGIN", new_y="NEXT")
        for payment in invoice.payments:
            pdf.cell(0, 6, f"{phrases.day(payment.paid_on)}  {phrases.money(payment.amount, invoice.currency)}  "
                           f"{payment.reference}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(font, size=11)
    pdf.cell(0, 7, label("how_to_pay"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=10)
    pdf.multi_cell(0, 6, label("payment_details", partner=partner_name(session, customer_id), number=invoice.number),
                   align="L")
    return bytes(pdf.output())
