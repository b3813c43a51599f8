"""Dollar amounts written the way each language writes them.

English and Korean write `$7,700.00`; French (Canada) writes `7 700,00 $`, with a
non-breaking space as the thousands separator and before the sign (locale/GLOSSARY.md).
All amounts are Canadian dollars, so no currency code is added. Every page, e-mail, CSV and
PDF that shows an amount to a person formats it here (the `money` template filter included).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

from django.conf import settings
from django.utils import translation

# U+00A0, as CLDR's fr-CA, Django's French formats and the catalogue's "2 000" (France uses
# U+202F); one constant, so that a change of house rule is one line.
FRENCH_SPACE = "\u00a0"


class MoneyFieldArgs(TypedDict):
    max_digits: int
    decimal_places: int


# Every stored amount: up to 9,999,999,999.99 dollars, to the cent (`DecimalField(**MONEY_FIELD)`).
MONEY_FIELD: MoneyFieldArgs = {"max_digits": 12, "decimal_places": 2}


def format_money(
    value: Decimal | int | str, language: str | None = None, *, places: int = 2
) -> str:
    """`value` dollars with `places` decimals (rounded half up) in `language` (default: the
    active one). Raises decimal.InvalidOperation / TypeError for something not a number."""
    amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.{places}f}"
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language.split("-")[0].lower() == "fr":
        digits = digits.replace(",", FRENCH_SPACE).replace(".", ",")
        return f"{sign}{digits}{FRENCH_SPACE}$"
    return f"{sign}${digits}"
