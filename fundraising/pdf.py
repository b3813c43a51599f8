"""The CRA official donation receipt as a PDF (reportlab), made once at issue time.

`invariant=1` makes the bytes depend on the receipt only (no timestamp, no random id), so the
stored SHA-256 can be checked against a regeneration. The PDF is encrypted with an empty open
password and only printing allowed: a reader opens it, but editing tools are refused (CRA:
computer-made receipts must not be alterable).

Text is set run by run, each run in a font made for its script: Latin (English, French) in
Helvetica, Hangul and other CJK text in Nanum Gothic (embedded).
A Korean address mixes both: "서울 Bloor St W" is two runs, never "B loor S t W" set in the
CJK font. Wording follows the receipt's language (English or French, CRA's languages), with
Korean labels beside the English ones for Korean-speaking donors (docs/fundraising.md).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from reportlab.lib import pdfencrypt
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from core.money import format_money

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CJK = "NanumGothic"
# Nanum Gothic (SIL Open Font License, fundraising/fonts/), embedded as a subset: every PDF
# reader shows the Hangul, whatever fonts the donor's machine has.
CJK_FONT_FILE = Path(__file__).resolve().parent / "fonts" / "NanumGothic.ttf"
_registered = False

LABELS = {
    "en": {
        "title": "Official receipt for income tax purposes",
        "bn": "Charity registration number (BN)",
        "serial": "Receipt serial number",
        "replaces": "Cancels and replaces receipt No.",
        "place": "Place issued",
        "received": "Date gift received",
        "year": "Year gifts received",
        "issued": "Date issued",
        "donor": "Donor",
        "amount": "Amount of gift",
        "advantage": "Value of advantage",
        "description": "description",
        "none": "none",
        "eligible": "Eligible amount of gift for tax purposes",
        "gifts": "Gifts included",
        "signature": "Authorised signature",
        "cra1": "For information on all registered charities in Canada under the Income Tax Act,",
        "cra2": "please contact the Canada Revenue Agency: www.canada.ca/charities-giving",
        "keep": "Keep this receipt for your income tax return.",
        "duplicate": "DUPLICATE",
    },
    "fr": {
        "title": "Reçu officiel aux fins de l'impôt sur le revenu",
        "bn": "Numéro d'enregistrement de l'organisme de bienfaisance (NE)",
        "serial": "Numéro de série du reçu",
        "replaces": "Annule et remplace le reçu nº",
        "place": "Lieu de délivrance",
        "received": "Date de réception du don",
        "year": "Année de réception des dons",
        "issued": "Date de délivrance",
        "donor": "Donateur",
        "amount": "Montant du don",
        "advantage": "Valeur de l'avantage",
        "description": "description",
        "none": "aucun",
        "eligible": "Montant admissible du don aux fins de l'impôt",
        "gifts": "Dons compris",
        "signature": "Signature autorisée",
        "cra1": "Pour obtenir des renseignements sur les organismes de bienfaisance enregistrés,",
        "cra2": "consultez l'Agence du revenu du Canada : www.canada.ca/organismes-bienfaisance",
        "keep": "Conservez ce reçu pour votre déclaration de revenus.",
        "duplicate": "DUPLICATA",
    },
}
KOREAN = {
    "title": "소득세 공식 영수증",
    "serial": "영수증 번호",
    "received": "기부 받은 날짜",
    "year": "기부 연도",
    "issued": "발급일",
    "donor": "기부자",
    "amount": "기부 금액",
    "advantage": "혜택 금액",
    "eligible": "세금 공제 대상 금액",
    "gifts": "포함된 기부",
    "signature": "서명",
}


def _register_cjk() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(TTFont(CJK, str(CJK_FONT_FILE)))
        _registered = True


def _is_latin(ch: str) -> bool:
    """Characters Helvetica can set (its WinAnsi encoding): Latin-1 and typographic marks."""
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def script_runs(text: str, bold: bool = False) -> list[tuple[str, str]]:
    """Split `text` into (run, font) pairs: Latin runs in Helvetica, the rest in the CJK font.

    Spaces and punctuation join the run they sit in, so words keep their own font.
    """
    runs: list[tuple[str, str]] = []
    latin_font = LATIN_BOLD if bold else LATIN
    for ch in text:
        font = runs[-1][1] if ch.isspace() and runs else latin_font if _is_latin(ch) else CJK
        if runs and runs[-1][1] == font:
            runs[-1] = (runs[-1][0] + ch, font)
        else:
            runs.append((ch, font))
    if any(font == CJK for _run, font in runs):
        _register_cjk()
    return runs


def draw_text(pdf: canvas.Canvas, x: float, y: float, text: str, size: float, bold=False) -> float:
    """Draw `text` run by run at (x, y); returns the x where it ends."""
    for run, font in script_runs(text, bold):
        pdf.setFont(font, size)
        pdf.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)
    return x


def _money(value: Decimal, language: str) -> str:
    return format_money(value, "fr" if language == "fr" else "en")


def _labels(language: str) -> dict[str, str]:
    """The receipt's wording: French, English, or English with Korean beside."""
    base = dict(LABELS["fr" if language == "fr" else "en"])
    if language == "ko":
        for key, korean in KOREAN.items():
            base[key] = f"{base[key]} / {korean}"
    return base


def _image(data: bytes | memoryview | None) -> ImageReader | None:
    return ImageReader(io.BytesIO(bytes(data))) if data else None


def receipt_pdf(
    receipt,
    *,
    logo: bytes | None = None,
    signature: bytes | None = None,
    duplicate: bool = False,
) -> bytes:
    """Render `receipt` (a fundraising.models.Receipt) to PDF bytes, with the charity's logo
    and the signatory's signature image when given (the ones in force at issue time)."""
    language = (receipt.language or "en").split("-")[0]
    words = _labels(language)
    sep = "\u00a0: " if language == "fr" else ": "  # French puts a space before a colon
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LETTER, invariant=1, encrypt=_read_only(receipt))
    pdf.setTitle(f"Official receipt {receipt.number}")
    width, height = LETTER
    left, y = inch, height - inch

    if duplicate:
        pdf.saveState()
        pdf.setFillColorRGB(0.85, 0.2, 0.2)
        pdf.setFont(LATIN_BOLD, 64)
        pdf.drawCentredString(width / 2, height * 0.42, words["duplicate"])
        pdf.restoreState()
    logo_image = _image(logo)
    if logo_image is not None:  # top left, the text below it
        pdf.drawImage(
            logo_image,
            left,
            height - 0.5 * inch - 0.7 * inch,
            width=2.2 * inch,
            height=0.7 * inch,
            preserveAspectRatio=True,
            anchor="sw",
            mask="auto",
        )
        y -= 0.5 * inch

    def line(text: str, size: float = 10, bold: bool = False, gap: float = 14) -> None:
        nonlocal y
        draw_text(pdf, left, y, text, size, bold)
        y -= gap

    line(words["title"], size=15, bold=True, gap=22)
    line(receipt.charity_name, size=12, bold=True)
    line(receipt.charity_address)
    line(f"{words['bn']}{sep}{receipt.charity_registration_number}", gap=22)

    line(f"{words['serial']}{sep}{receipt.number}", size=12, bold=True, gap=18)
    if receipt.replaces_id:
        line(f"{words['replaces']} {receipt.replaces.number}", bold=True, gap=18)
    line(f"{words['place']}{sep}{receipt.place_issued}")
    if receipt.gift_received_on:
        line(f"{words['received']}{sep}{receipt.gift_received_on.isoformat()}")
    else:
        line(f"{words['year']}{sep}{receipt.year}")
    line(f"{words['issued']}{sep}{receipt.issued_on.isoformat()}", gap=22)

    line(words["donor"], bold=True)
    line(receipt.donor_name)
    for address_line in receipt.donor_address.splitlines():
        if address_line.strip():
            line(address_line.strip())
    y -= 8

    line(f"{words['amount']}{sep}{_money(receipt.amount, language)}")
    advantage = receipt.advantage_description or words["none"]
    line(
        f"{words['advantage']}{sep}{_money(receipt.advantage_amount, language)} "
        f"({words['description']}{sep}{advantage})"
    )
    line(f"{words['eligible']}{sep}{_money(receipt.eligible_amount, language)}", bold=True)

    gifts = receipt.gift_lines() if receipt.kind == "yearly" else []
    if gifts:
        y -= 6
        line(words["gifts"], size=9, bold=True, gap=12)
        for received_on, amount, counted_advantage in gifts:
            text = f"{received_on.isoformat()}   {_money(amount, language)}"
            if counted_advantage:
                text += f"   ({words['advantage']}{sep}{_money(counted_advantage, language)})"
            line(text, size=9, gap=12)
    y -= 60  # room for the signature image above the line

    signature_image = _image(signature)
    if signature_image is not None:
        pdf.drawImage(
            signature_image,
            left,
            y + 2,
            width=2.5 * inch,
            height=0.6 * inch,
            preserveAspectRatio=True,
            anchor="sw",
            mask="auto",
        )
    pdf.line(left, y, left + 3 * inch, y)
    y -= 12
    line(f"{words['signature']}{sep}{receipt.signatory}")
    y -= 16
    line(words["cra1"], size=9, gap=12)
    line(words["cra2"], size=9, gap=12)
    draw_text(pdf, left, 0.6 * inch, words["keep"], 8)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _read_only(receipt) -> pdfencrypt.StandardEncryption:
    """Opens without a password; printing and copying allowed, changes refused. The owner
    password is derived from the site's secret, so a regeneration gives the same bytes."""
    owner = hmac.new(
        settings.SECRET_KEY.encode(), f"receipt-{receipt.number}".encode(), hashlib.sha256
    ).hexdigest()
    return pdfencrypt.StandardEncryption(
        "", ownerPassword=owner, canPrint=1, canModify=0, canCopy=1, canAnnotate=0, strength=128
    )


def duplicate_pdf(receipt, *, logo: bytes | None = None, signature: bytes | None = None) -> bytes:
    """A copy of an issued receipt, the same receipt drawn again with "DUPLICATE" across it
    (the stored original is never changed; CRA expects a re-sent copy to say it is one)."""
    return receipt_pdf(receipt, logo=logo, signature=signature, duplicate=True)
