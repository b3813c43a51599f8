"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from families.models import Consent, Family, HouseholdMember
from fundraising.models import Campaign, Payment, Pledge
from sponsorship.models import Membership, SponsorGroup, Sponsorship

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


# --- families and sponsorship ---------------------------------------------------------------


class FamilyFactory(factory.django.DjangoModelFactory):
    """A family with an obviously fictional principal applicant (see HouseholdMemberFactory)."""

    class Meta:
        model = Family
        skip_postgeneration_save = True

    case_code = factory.Sequence(lambda n: f"NK-2026-{900 + n:03d}")
    status = Family.Status.REFERRED
    community = "Toronto"
    narrative = "Fictional narrative for tests."

    @factory.post_generation
    def principal(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            HouseholdMemberFactory(
                family=self,
                is_principal_applicant=True,
                relationship=HouseholdMember.Relationship.PRINCIPAL,
            )


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    family = factory.SubFactory(FamilyFactory, principal=False)
    given_name = factory.Sequence(lambda n: f"Testgiven{n}")
    family_name = "Testfamily"
    date_of_birth = datetime.date(1988, 4, 2)
    relationship = HouseholdMember.Relationship.CHILD
    is_principal_applicant = False


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    family = factory.SubFactory(FamilyFactory)
    topic = Consent.Topic.MEDICAL
    given_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=335))


class SponsorGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SponsorGroup

    name = factory.Sequence(lambda n: f"Test Sponsor Circle {n}")
    kind = SponsorGroup.Kind.CONSTITUENT
    community = "Toronto"
    status = SponsorGroup.Status.ACTIVE
    settlement_plan_approved_on = datetime.date(2026, 1, 15)
    financial_commitment = 30000


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    group = factory.SubFactory(SponsorGroupFactory)
    role = Membership.Role.MEMBER


class SponsorshipFactory(factory.django.DjangoModelFactory):
    """An active sponsorship; pass arrival_date=... to have its plan generated."""

    class Meta:
        model = Sponsorship
        skip_postgeneration_save = True

    group = factory.SubFactory(SponsorGroupFactory)
    family = factory.SubFactory(
        FamilyFactory, status=Family.Status.MATCHED, vetted_on=datetime.date(2025, 11, 1)
    )
    kind = Sponsorship.Kind.PSR
    matched_on = datetime.date(2025, 12, 1)
    arrival_date = None

    @factory.post_generation
    def plan(self, create: bool, extracted, **kwargs) -> None:
        if create and self.arrival_date and extracted is not False:
            from sponsorship.services import plan_generate

            if self.family.status != Family.Status.ARRIVED:
                Family.objects.filter(pk=self.family_id).update(status=Family.Status.ARRIVED)
                self.family.refresh_from_db()
            plan_generate(sponsorship=self)


# --- fundraising ---------------------------------------------------------------------------
# Obviously fictional donors; money as Decimal strings.


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    name = "North to North"
    slug = "north-to-north"
    goal = Decimal("250000.00")
    cost_per_family = Decimal("50000.00")
    families_goal = 5
    starts_on = datetime.date(2026, 1, 1)
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
    amount = Decimal("50.00")
    frequency = Pledge.Frequency.ONE_TIME
    months = 1
    pledged_on = factory.LazyFunction(lambda: datetime.date.today())  # noqa: DTZ011
    # A confirmed pledge (counts toward "pledged"); pass confirmed_at=None for one that waits.
    confirmed_at = factory.LazyFunction(timezone.now)


class MonthlyPledgeFactory(PledgeFactory):
    frequency = Pledge.Frequency.MONTHLY
    months = 12
    amount = Decimal("25.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    pledge = factory.SubFactory(PledgeFactory)
    campaign = factory.LazyAttribute(lambda o: o.pledge.campaign if o.pledge else None)
    donor_name = factory.LazyAttribute(lambda o: o.pledge.donor_name if o.pledge else "Ann Donor")
    donor_email = factory.LazyAttribute(lambda o: o.pledge.email if o.pledge else "")
    donor_address = factory.LazyAttribute(lambda o: o.pledge.address if o.pledge else "")
    amount = factory.LazyAttribute(lambda o: o.pledge.amount if o.pledge else Decimal("50.00"))
    received_on = datetime.date(2026, 3, 2)
    method = Payment.Method.ETRANSFER
