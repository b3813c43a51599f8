from django.conf import settings
from django.http import HttpRequest


def charity(request: HttpRequest) -> dict:
    """The charity's public name, for page titles and footers."""
    return {"charity_name": settings.CHARITY["name"]}
