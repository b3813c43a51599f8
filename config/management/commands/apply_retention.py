from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from evidence.services import documents_erase
from families.retention import access_log_prune, case_files_due_for_archive, family_archive
from fundraising.retention import donors_due_for_anonymising
from fundraising.services import donor_anonymise
from sponsorship.retention import sponsorship_records_erase


class Command(BaseCommand):
    help = (
        "Apply the retention policy (settings.RETENTION): archive closed case files, prune "
        "logs, anonymise donors without activity."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        today = timezone.localdate()
        policy = settings.RETENTION
        due = list(case_files_due_for_archive(today=today, years=policy["case_file_years"]))
        verb = "Would archive" if dry_run else "Archived"
        if not dry_run:
            for family in due:
                family_archive(family=family, today=today)
                sponsorship_records_erase(family=family)
                documents_erase(family=family, today=today)
        codes = ", ".join(f.case_code for f in due) or "none"
        self.stdout.write(f"{verb} {len(due)} closed case file(s): {codes}")
        if not dry_run:
            pruned = access_log_prune(today=today, years=policy["access_log_years"])
            self.stdout.write(f"Pruned {pruned} access-log row(s)")
        donors = donors_due_for_anonymising(today=today, years=policy["donor_years"])
        if not dry_run:
            for email in donors:
                donor_anonymise(email=email)
        # Donor e-mails are personal data: count them, never print them.
        verb = "Would anonymise" if dry_run else "Anonymised"
        self.stdout.write(
            f"{verb} {len(donors)} donor(s) inactive for {policy['donor_years']} years"
        )
        self.stdout.write(self.style.SUCCESS("Retention policy applied."))
