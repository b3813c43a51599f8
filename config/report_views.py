"""The report pages of the staff admin: page, CSV and PDF of the same `Report`.

URLs (config/sites.py): /admin/reports/ (admin:reports), /admin/reports/program/
(admin:report-program), /admin/reports/groups/ (admin:report-groups),
/admin/reports/fundraising/ (admin:report-fundraising); each takes `date_from`, `date_to`,
`audience=internal|external`, `group` or `campaign`, and `format=csv|pdf` for a download.
Staff without the role get 403 (the admin already answers anyone else with its sign-in page).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config import reports
from core import charts
from core.admin_actions import staff_user
from core.admin_forms import NativeDateInput
from core.dates import shown
from families.models import CaseFileAccess
from fundraising.models import Campaign
from sponsorship.models import SponsorGroup

EARLIEST = datetime.date(2015, 1, 1)
MAX_SPAN_DAYS = 366 * 10


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=NativeDateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=NativeDateInput)
    audience = forms.ChoiceField(
        label=_("Audience"),
        required=False,
        choices=[
            (reports.INTERNAL, _("HanVoice staff (case codes)")),
            (reports.EXTERNAL, _("Board, donors, IRCC (no identifying data)")),
        ],
    )

    def __init__(self, data=None, *, key: str, today: datetime.date):
        super().__init__(data)
        self.today = today
        if key == "groups":
            self.fields["group"] = forms.ModelChoiceField(
                label=_("Sponsor group"),
                required=False,
                queryset=SponsorGroup.objects.order_by("name"),
                empty_label=_("All groups"),
            )
        if key == "fundraising":
            self.fields["campaign"] = forms.ModelChoiceField(
                label=_("Campaign"),
                required=False,
                queryset=Campaign.objects.order_by("-starts_on", "name"),
                empty_label=_("All campaigns"),
            )

    def _check_bounds(self, name: str) -> None:
        day = self.cleaned_data.get(name)
        if day is None:
            return
        latest = datetime.date(self.today.year + 1, 12, 31)
        if day < EARLIEST:
            self.add_error(
                name, _("Choose a date in 2015 or later (the program's records start then).")
            )
        elif day > latest:
            self.add_error(name, _("Choose a date no later than %(day)s.") % {"day": shown(latest)})

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        self._check_bounds("date_from")
        self._check_bounds("date_to")
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and "date_from" not in self.errors and "date_to" not in self.errors:
            if end < start:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (end - start).days > MAX_SPAN_DAYS:
                self.add_error("date_to", _("Choose a period of at most 10 years."))
        return data

    def period(self) -> tuple[datetime.date, datetime.date]:
        """The chosen period; by default the last 12 months up to today."""
        end = self.cleaned_data.get("date_to") or self.today
        start = self.cleaned_data.get("date_from") or min(
            end, self.today - datetime.timedelta(days=365)
        )
        return start, end


def _build(key: str, form: ReportFilterForm) -> reports.Report:
    start, end = form.period()
    kwargs: dict[str, Any] = {
        "date_from": start,
        "date_to": end,
        "audience": form.cleaned_data.get("audience") or reports.INTERNAL,
    }
    if key == "groups":
        kwargs["group"] = form.cleaned_data.get("group")
    if key == "fundraising":
        kwargs["campaign"] = form.cleaned_data.get("campaign")
    return reports.BUILDERS[key](**kwargs)


def _log_download(request: HttpRequest, report: reports.Report, action: str) -> None:
    """Each family whose case code left the system in a file: one access row, one INSERT."""
    if not report.family_ids:
        return

    now = timezone.now()
    CaseFileAccess.objects.bulk_create(
        [
            CaseFileAccess(
                family_id=family_id,
                user=staff_user(request),
                action=action,
                page=request.path,
                at=now,
            )
            for family_id in report.family_ids
        ]
    )


def _filename(report: reports.Report, ext: str) -> str:
    suffix = "-external" if report.audience == reports.EXTERNAL else ""
    return f"{report.key}-report-{report.date_from}-{report.date_to}{suffix}.{ext}"


def _chart_svg(report: reports.Report):
    chart = report.chart
    if chart is None:
        return None
    bars = [
        charts.Bar(
            label,
            0 if isinstance(value, str) else value,
            text=value if isinstance(value, str) else "",
        )
        for label, value in chart.points
    ]
    empty = str(_("Nothing to show in this period."))
    if chart.vertical:
        return charts.column_chart(
            bars, title=chart.title, cid="report-chart", money=chart.money, empty_text=empty
        )
    if chart.money:
        bars = [
            charts.Bar(
                b.label, b.value, text=b.text or charts.value_text(b.value, money=True, places=2)
            )
            for b in bars
        ]
    return charts.bar_chart(bars, title=chart.title, cid="report-chart")


def report_view(request: HttpRequest, *, site: AdminSite, key: str) -> HttpResponse:
    if not reports.may_open(request.user, key):
        raise PermissionDenied
    # Always bound: no parameters at all is a valid request for the default period.
    form = ReportFilterForm(request.GET, key=key, today=timezone.localdate())
    context = {
        **site.each_context(request),
        "title": reports.REPORTS[key][0],
        "form": form,
        "key": key,
        "reports": reports.reports_for(request.user),
    }
    if not form.is_valid():
        return TemplateResponse(request, "admin/reports/report.html", context, status=400)
    report = _build(key, form)
    wanted = request.GET.get("format", "")
    if wanted == "csv":
        response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_filename(report, "csv")}"'
        _log_download(request, report, "export")
        return response
    if wanted == "pdf":
        response = HttpResponse(reports.report_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{_filename(report, "pdf")}"'
        _log_download(request, report, "download")
        return response
    _log_download(request, report, "view")  # a page of case codes is a view of each file
    query = request.GET.copy()
    query.pop("format", None)
    context.update(
        report=report,
        chart=_chart_svg(report),
        csv_url=f"{request.path}?{_with(query, 'csv')}",
        pdf_url=f"{request.path}?{_with(query, 'pdf')}",
    )
    return TemplateResponse(request, "admin/reports/report.html", context)


def _with(query, fmt: str) -> str:
    query = query.copy()
    query["format"] = fmt
    return query.urlencode()


def reports_index(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    available = reports.reports_for(request.user)
    if not available:
        raise PermissionDenied
    context = {
        **site.each_context(request),
        "title": _("Reports"),
        "reports": [(key, title, reverse(f"admin:report-{key}")) for key, title in available],
    }
    return TemplateResponse(request, "admin/reports/index.html", context)
