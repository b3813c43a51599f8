from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config import otp, views
from sponsorship import reminder_views
from sponsorship import views as portal_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Sign-in and password reset are rate limited per IP (django-ratelimit, 429 page).
    path("accounts/login/", portal_views.sign_in, name="login"),
    path("accounts/password_reset/", portal_views.password_reset, name="password_reset"),
    path(
        "accounts/notifications/",
        reminder_views.preferences,
        name="notification-preferences",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/second-factor/", otp.verify, name="otp-verify"),
    path("accounts/second-factor/backup-codes/", otp.backup_codes, name="otp-backup-codes"),
    path("admin/", admin.site.urls),
    path("give/", include("fundraising.urls")),
    path("portal/", include("evidence.urls")),
    path("portal/", include("sponsorship.urls")),
]

if settings.BENCH:  # `make bench` only: the trivial view every throughput is a ratio to
    urlpatterns.append(path("bench/noop", views.bench_noop, name="bench-noop"))
