from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import otp, views
from config.forms import EmailAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=EmailAuthenticationForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/second-factor/", otp.verify, name="otp-verify"),
    path("admin/", admin.site.urls),
    path("give/", include("fundraising.urls")),
    path("portal/", include("sponsorship.urls")),
]
