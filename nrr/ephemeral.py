"""A temporary Prefect API for one `nrr` command, that dies with the command.

Without PREFECT_API_URL, Prefect 3.8 starts its "ephemeral" server as a plain subprocess
(`python -m uvicorn prefect.server.api.server:create_app`, SubprocessASGIServer) and stops it
from an `atexit` hook: after `kill -9` of `nrr` the hook never runs and the server (~230 MB)
stays behind. Here the same server app runs in a child that watches its parent (Linux
parent-death signal, plus a polling watchdog elsewhere) and exits when the parent is gone;
the command talks to it through PREFECT_API_URL, so Prefect never starts its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from nrr.errors import NrrError

WATCH_SECONDS = 0.5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def prefect_api() -> Iterator[str | None]:
    """Yield the API URL in use: the configured one, or a temporary server's."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if PREFECT_API_URL.value():
        yield PREFECT_API_URL.value()
        return
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "nrr.ephemeral", str(port), str(os.getpid())], env=env
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(process, url)
        with temporary_settings({PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_to_api()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drain_to_api() -> None:
    """Send the logs and events still queued while the server is up, not after it stopped."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        # best effort: the run's outcome is already recorded
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


def wait_healthy(process: subprocess.Popen, url: str, timeout: float | None = None) -> None:
    """Return once the API at `url` answers its health check; a clear error when the server
    process exits first or `timeout` (default PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)
    passes."""
    import httpx
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    limit = timeout or PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    deadline = time.monotonic() + limit
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NrrError(
                    f"the Prefect server exited with code {process.returncode}; "
                    "set PREFECT_API_URL to a running server instead"
                )
            try:
                if client.get(f"{url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise NrrError(
        f"the Prefect server did not answer within {limit:.0f}s "
        "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); set PREFECT_API_URL instead"
    )


# --- the child --------------------------------------------------------------------------
def _die_with(parent: int) -> None:
    """Exit as soon as `parent` is gone: a parent-death signal on Linux, and a watchdog."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(WATCH_SECONDS)

    if os.getppid() != parent:  # died before the signal was armed
        os._exit(0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> None:
    port, parent = int(argv[0]), int(argv[1])
    _die_with(parent)
    import uvicorn

    uvicorn.run(
        "prefect.server.api.server:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="on",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
