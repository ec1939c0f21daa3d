"""A Django project in one module: settings configured in code, the views in
djangourls.py (GET / greets, POST /echo answers the request body)."""
import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="fixtureapps.djangourls",
        SECRET_KEY="waitron-test-only",
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402 (after setup)

app = get_wsgi_application()
