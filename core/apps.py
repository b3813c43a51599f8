from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project's own helpers (dates, money, e-mail, roles, charts, the outbox...).

    An app only so that Django finds its template tags; it has no models of its own
    (the outbox row is abstract) and imports no other app of the project."""

    name = "core"
    verbose_name = "HanVoice helpers"
