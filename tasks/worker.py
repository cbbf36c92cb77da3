"""Celery entry point: ``celery -A tasks.worker worker`` and ``celery -A tasks.worker beat``."""

from celery.signals import setup_logging

from marketplace import create_app_or_exit
from marketplace.logs import configure_logging
from tasks import WORKER_SOCKET_TIMEOUT

flask_app = create_app_or_exit()
celery = flask_app.extensions["celery"]
# The web's short broker timeouts bound a request's publish; a worker or beat, which waits
# on Redis all day, gets longer ones (a slow moment is not a lost connection).
celery.conf.broker_transport_options = {
    **celery.conf.broker_transport_options,
    "socket_connect_timeout": WORKER_SOCKET_TIMEOUT,
    "socket_timeout": WORKER_SOCKET_TIMEOUT,
}


@setup_logging.connect
def use_marketplace_logging(**kwargs):
    """Worker and beat log like the web (one line per event; JSON in production)."""
    configure_logging(flask_app)
