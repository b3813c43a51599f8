from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _remember_language(sender, request, user, **kwargs) -> None:
    """Reminders are e-mailed by a worker with no request: keep the language the person
    browses in when they sign in, unless they already chose one."""
    # apps.py loads before the models exist: the reminders (which import them) come later.
    from sponsorship.reminders import language_preference_remember

    language = getattr(request, "LANGUAGE_CODE", None) if request is not None else None
    if language:
        language_preference_remember(user=user, language=language)


class SponsorshipConfig(AppConfig):
    name = "sponsorship"
    verbose_name = _("Sponsorship")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_remember_language, dispatch_uid="sponsorship-remember-language")

        from sponsorship import portal_cache

        portal_cache.connect_signals()
