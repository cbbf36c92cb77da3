"""WSGI entry point: ``gunicorn wsgi:app``; also what ``flask`` finds in this directory."""

from marketplace import create_app_or_exit
from marketplace.logs import configure_logging

app = create_app_or_exit()
configure_logging(app)
