"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    username = factory.LazyAttribute(lambda o: o.email.lower())
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted, **kwargs) -> None:
        """UserFactory(roles=["Case worker"]) puts a staff user in those role groups."""
        if not create or not extracted:
            return
        for name in extracted:
            self.groups.add(Group.objects.get(name=name))


class StaffFactory(UserFactory):
    is_staff = True


# --- fundraising ---------------------------------------------------------------------------
# Obviously fictional donors; money as Decimal strings.

import datetime as _dt  # noqa: E402
from decimal import Decimal as _Decimal  # noqa: E402

from fundraising.models import Campaign, Payment, Pledge  # noqa: E402


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    name = "North to North"
    slug = "north-to-north"
    goal = _Decimal("250000.00")
    cost_per_family = _Decimal("50000.00")
    families_goal = 5
    starts_on = _dt.date(2026, 1, 1)
    summary = "Bring five families to safety."
    story = "First paragraph of the story.\n\nSecond paragraph of the story."
    suggested_amounts = "25,50,100,250"
    is_active = True


class PledgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pledge

    campaign = factory.SubFactory(CampaignFactory)
    donor_name = factory.Sequence(lambda n: f"Demo Donor {n}")
    email = factory.Sequence(lambda n: f"donor{n}@example.org")
    address = factory.Sequence(lambda n: f"{n} Example Street\nToronto ON M5V 1A1")
    amount = _Decimal("50.00")
    frequency = Pledge.Frequency.ONE_TIME
    months = 1
    pledged_on = factory.LazyFunction(lambda: _dt.date.today())  # noqa: DTZ011


class MonthlyPledgeFactory(PledgeFactory):
    frequency = Pledge.Frequency.MONTHLY
    months = 12
    amount = _Decimal("25.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    pledge = factory.SubFactory(PledgeFactory)
    campaign = factory.LazyAttribute(lambda o: o.pledge.campaign if o.pledge else None)
    donor_name = factory.LazyAttribute(lambda o: o.pledge.donor_name if o.pledge else "Ann Donor")
    donor_email = factory.LazyAttribute(lambda o: o.pledge.email if o.pledge else "")
    donor_address = factory.LazyAttribute(lambda o: o.pledge.address if o.pledge else "")
    amount = factory.LazyAttribute(lambda o: o.pledge.amount if o.pledge else _Decimal("50.00"))
    received_on = _dt.date(2026, 3, 2)
    method = Payment.Method.ETRANSFER
