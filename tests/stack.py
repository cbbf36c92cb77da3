"""Real processes for the reliability suite: a redis-server of its own, gunicorn, Celery
workers and beat, each on free ports, logging to files, stopped (or killed) on demand.

Nothing here touches the machine's shared PostgreSQL or Redis servers: the suite uses a
database of its own on the shared PostgreSQL (created and dropped by conftest) and starts
its own ``redis-server``, which it may stop and start again.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.1):
    """True once ``predicate()`` is true, False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def descendants(pid):
    """Every process below ``pid`` (children, their children…), read from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


class Process:
    """One subprocess in a session of its own; ``kill`` reaches every process below it,
    even those that started sessions of their own (honcho's, for instance)."""

    def __init__(self, name, argv, env, log_dir):
        self.name, self.argv, self.env = name, argv, env
        self.log = Path(log_dir) / f"{name}.log"
        self.popen = None

    def start(self):
        with open(self.log, "a") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=20):
        """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
        if not self.running:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        """SIGKILL the process and everything below it at once: no chance to clean up."""
        if self.popen is None:
            return
        below = descendants(self.popen.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=20)

    def pause(self):
        """SIGSTOP: the process still holds its sockets but answers nothing (a hung server)."""
        os.killpg(self.popen.pid, signal.SIGSTOP)

    def resume(self):
        os.killpg(self.popen.pid, signal.SIGCONT)

    def output(self, tail=4000):
        return f"--- {self.name} ---\n" + (
            self.log.read_text()[-tail:] if self.log.exists() else ""
        )


class RedisServer(Process):
    """A redis-server of the suite's own, on a free port, keeping nothing on disk."""

    def __init__(self, log_dir, port=None):
        self.port = port or free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server (apt-get install redis-server)")
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "noeviction",
        ]
        super().__init__(f"redis-{self.port}", argv, dict(os.environ), log_dir)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        super().start()
        if not wait_until(self.answers, timeout=10):
            raise RuntimeError(self.output())
        return self

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class Stack:
    """The production topology against one database and the suite's own Redis."""

    def __init__(self, database_url, redis, log_dir, **settings):
        self.redis, self.log_dir = redis, Path(log_dir)
        self.processes = []
        self.env = {
            **os.environ,
            "MARKETPLACE_CONFIG": "production",
            "SECRET_KEY": "reliability-suite",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis.url,
            "SESSION_COOKIE_SECURE": "false",
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
            "OUTBOX_SWEEP_INTERVAL": "1",
            "OUTBOX_REDISPATCH_AFTER": "3",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in settings.items()},
        }

    def _spawn(self, name, argv, **env):
        process = Process(name, argv, {**self.env, **env}, self.log_dir).start()
        self.processes.append(process)
        return process

    def web(self, workers=4):
        """gunicorn serving wsgi:app on a free port; returns ``(process, base_url)``."""
        port = free_port()
        process = self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "wsgi:app",
            ],
        )
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: healthy(base), timeout=30):
            raise RuntimeError(process.output())
        return process, base

    def worker(self, name="worker", concurrency=2, application_name="talat-worker"):
        """A Celery worker (prefork pool); its database sessions carry ``application_name``."""
        return self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "tasks.worker",
                "worker",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{name}@%h",
            ],
            DATABASE_URL=with_application_name(self.env["DATABASE_URL"], application_name),
        )

    def beat(self):
        return self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "tasks.worker",
                "beat",
                "--schedule",
                str(self.log_dir / "celerybeat-schedule"),
            ],
        )

    def flask(self, *args, timeout=300):
        """Run a ``flask --app wsgi`` command with the stack's settings."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self, timeout=20):
        """Each process stopped as ``Process.stop`` does, all at once: SIGTERM to every one,
        then SIGKILL to those still running after ``timeout`` seconds."""
        running = [process for process in reversed(self.processes) if process.running]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()

    def output(self):
        return "\n".join(process.output() for process in self.processes)


def healthy(base):
    """True when the app at ``base`` answers /healthz with 200 (database and broker up)."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def with_application_name(url, name):
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}application_name={name}"
