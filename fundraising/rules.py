"""CRA's rules for the amounts on an official receipt, in one place (docs/fundraising.md).

Single-gift receipts, yearly receipts, the receipt PDF and the reports all take the eligible
amount from `receipt_amounts`: the small-advantage (de minimis) rule is applied gift by gift,
never to a year's combined totals (that would over-receipt, the error CRA sanctions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
DE_MINIMIS_CAP = Decimal("75.00")
DE_MINIMIS_SHARE = Decimal("0.10")
ADVANTAGE_LIMIT_SHARE = Decimal("0.80")


def gift_advantage(amount: Decimal, advantage: Decimal) -> Decimal:
    """The advantage that counts for one gift: none at or below the lesser of $75 or 10%."""
    de_minimis = min(DE_MINIMIS_CAP, (amount * DE_MINIMIS_SHARE).quantize(CENT))
    return ZERO if advantage <= de_minimis else advantage


def advantage_too_large(amount: Decimal, advantage: Decimal) -> bool:
    """CRA: no receipt for a gift whose advantage is more than 80% of it."""
    return advantage > amount * ADVANTAGE_LIMIT_SHARE


@dataclass(frozen=True)
class ReceiptAmounts:
    amount: Decimal
    advantage: Decimal
    eligible: Decimal


def receipt_amounts(gifts: Iterable[tuple[Decimal, Decimal]]) -> ReceiptAmounts:
    """Total gift, counted advantage and eligible amount of (amount, advantage) pairs."""
    amount = advantage = ZERO
    for gift_amount, gift_advantage_value in gifts:
        amount += gift_amount
        advantage += gift_advantage(gift_amount, gift_advantage_value)
    return ReceiptAmounts(amount=amount, advantage=advantage, eligible=amount - advantage)
