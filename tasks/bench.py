"""The floor `make bench` measures levy routing against: Celery's own no-op throughput.

The task counts itself in the broker's Redis (one INCR on a connection kept by the worker
process), so the benchmark knows when a batch is through; nothing else ever sends it.
"""

import redis
from celery import shared_task
from flask import current_app

_clients = {}


@shared_task(name="tasks.bench.noop")
def noop():
    url = current_app.config["CELERY_BROKER_URL"]
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url)
    _clients[url].incr("bench:noop")
