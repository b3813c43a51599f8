from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundraisingConfig(AppConfig):
    name = "fundraising"
    verbose_name = _("Fundraising")

    def ready(self) -> None:
        # Imported here: the selectors import the models, ready only now.
        from fundraising.selectors import connect_signals

        connect_signals()  # a saved campaign is read again by the next pledge
