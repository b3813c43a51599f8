from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class HanVoiceAdminConfig(AdminConfig):
    """The admin with HanVoice's own site (dashboard index, second factor for staff)."""

    default_site = "config.admin.HanVoiceAdminSite"

    def ready(self) -> None:
        super().ready()
        from config.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="hanvoice-role-permissions")
