from django.urls import path

from sponsorship import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
