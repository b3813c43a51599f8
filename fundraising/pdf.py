"""The CRA official donation receipt as a PDF (reportlab), made once at issue time.

`invariant=1` makes the bytes depend on the receipt only (no timestamp, no random id),
so the stored SHA-256 can be checked against a regeneration.
"""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from core.money import format_money

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CJK = "HYSMyeongJo-Medium"  # built into reportlab: Korean names need no font file
_registered = False


def _font_for(text: str, bold: bool = False) -> str:
    global _registered
    if all(ord(ch) < 256 for ch in text):
        return LATIN_BOLD if bold else LATIN
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))
        _registered = True
    return CJK


def _money(value: Decimal) -> str:
    # The receipt's wording is English (the CRA's terms), so its amounts are written in English.
    return format_money(value, "en")


def receipt_pdf(receipt) -> bytes:
    """Render `receipt` (a fundraising.models.Receipt) to PDF bytes.

    The wording is fixed English (CRA's required phrases verbatim) so the same receipt always
    gives the same bytes, whatever language the staff member's browser uses.
    """
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LETTER, invariant=1)
    pdf.setTitle(f"Official receipt {receipt.number}")
    _width, height = LETTER
    left, y = inch, height - inch

    def line(text: str, size: int = 10, bold: bool = False, gap: int = 14) -> None:
        nonlocal y
        pdf.setFont(_font_for(text, bold), size)
        pdf.drawString(left, y, text)
        y -= gap

    line("Official receipt for income tax purposes", size=16, bold=True, gap=22)
    line(receipt.charity_name, size=12, bold=True)
    line(receipt.charity_address)
    line(f"Charity registration number (BN): {receipt.charity_registration_number}", gap=22)

    line(f"Receipt serial number: {receipt.number}", size=12, bold=True, gap=18)
    if receipt.replaces_id:
        line(
            f"Cancels and replaces receipt No. {receipt.replaces.number}",
            bold=True,
            gap=18,
        )
    line(f"Place issued: {receipt.place_issued}")
    if receipt.gift_received_on:
        line(f"Date gift received: {receipt.gift_received_on.isoformat()}")
    else:
        line(f"Year gifts received: {receipt.year}")
    line(f"Date issued: {receipt.issued_on.isoformat()}", gap=22)

    line("Donor", bold=True)
    line(receipt.donor_name)
    for address_line in receipt.donor_address.splitlines():
        if address_line.strip():
            line(address_line.strip())
    y -= 8

    line(f"Amount of gift: {_money(receipt.amount)}")
    advantage = receipt.advantage_description or "none"
    line(f"Value of advantage: {_money(receipt.advantage_amount)} (description: {advantage})")
    line(f"Eligible amount of gift for tax purposes: {_money(receipt.eligible_amount)}", bold=True)
    y -= 30

    pdf.line(left, y, left + 3 * inch, y)
    y -= 12
    line(f"Authorised signature: {receipt.signatory}")
    y -= 16
    line("For information on all registered charities in Canada under the Income Tax Act,")
    line("please contact the Canada Revenue Agency: www.canada.ca/charities-giving")
    pdf.setFont(LATIN, 8)
    pdf.drawString(left, 0.6 * inch, "Keep this receipt for your income tax return.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
