"""The WSGI entry point (gunicorn config.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

from core import kept_pages

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Pages the same for every anonymous visitor (the public campaign page) are answered in
# front of the middleware chain once Django has served them (core/kept_pages.py).
application = kept_pages.install(get_wsgi_application())

# What exists now (Django, the project's modules, the URL patterns, the templates loaded so
# far) lives as long as the process: the garbage collector's full collections stop walking it
# over and over, a pause that falls on whichever request is running (docs/performance.md).
gc.freeze()
