"""pledge_create refuses what the database's check constraints would refuse, with a message
and without writing anything (it validates them in Python, not with a query each)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fundraising import services
from fundraising.models import DonorEmail, Pledge
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"frequency": "monthly", "months": 37}, "months"),
        ({"frequency": "monthly", "months": 0}, "months"),
        ({"frequency": "weekly"}, "frequency"),
    ],
)
def test_it_refuses_a_pledge_the_constraints_forbid_and_saves_nothing(campaign, changes, field):
    data = {
        "campaign": campaign,
        "donor_name": "Ada Example",
        "email": "ada@example.org",
        "amount": Decimal("50"),
        "wants_receipt": False,
    }
    with pytest.raises(ValidationError) as caught:
        services.pledge_create(**(data | changes))
    assert field in caught.value.message_dict
    assert Pledge.objects.count() == 0
    assert DonorEmail.objects.count() == 0


def test_it_still_has_the_database_refuse_a_bad_row_written_around_the_service(campaign):
    with pytest.raises(IntegrityError), transaction.atomic():
        PledgeFactory(campaign=campaign, frequency="one_time", months=3)
