"""Serialising runs across machines with Prefect's global concurrency limits (one slot each).

Two limits, created on first use with one slot:

- `nrr-lake-<account>`: one run at a time writes or reads the Stripe lake of an account
  (an extraction; a close or backfill reading the lake), so a close never reads a
  half-written lake and two extractions never fight over the same account's rate limit.
- `nrr-publish-<YYYY-MM>`: one close or backfill publishes a month at a time.

The server holds the slots (with a lease that a crashed holder stops renewing), so the runs
can be on any machine that reaches the same Prefect API. A run that has to wait logs what it
waits for and who holds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from nrr.errors import NrrError
from nrr.settings import Settings
from nrr.tasks.common import logger

# the server frees a slot whose holder stopped renewing its lease (a crashed run) after this
# long; a live holder renews it every 3/4 of it, and a failed renewal does not stop its work
LEASE_SECONDS = 120.0


def account_key(settings: Settings) -> str:
    """Which Stripe account a lake belongs to, without the key: a short hash of the key and
    API base (or of the lake's path when no key is configured)."""
    if settings.stripe_api_key is not None:
        basis = f"{settings.stripe_api_key.get_secret_value()}|{settings.stripe_api_base or ''}"
    else:
        basis = f"lake|{settings.lake_dir}"
    return hashlib.sha256(basis.encode()).hexdigest()[:12]


def lake_limit(settings: Settings) -> str:
    return f"nrr-lake-{account_key(settings)}"


def publish_limit(month: date) -> str:
    return f"nrr-publish-{month:%Y-%m}"


def _ensure_limit(name: str) -> int:
    """Create the one-slot limit when it does not exist; return the slots in use now."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(name).active_slots
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another run created it meanwhile
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
            return client.read_global_concurrency_limit_by_name(name).active_slots


@contextmanager
def exclusive(name: str, what: str, timeout: float) -> Iterator[None]:
    """Hold the limit `name` (one slot) while the block runs; `what` says what it guards."""
    from prefect.concurrency.sync import concurrency

    log = logger()
    busy = _ensure_limit(name) > 0
    if busy:
        log.info("waiting for %s: another run holds the Prefect concurrency limit %r", what, name)
    started = time.monotonic()
    acquired = False
    try:
        with concurrency(name, occupy=1, timeout_seconds=timeout, strict=True,
                         lease_duration=LEASE_SECONDS,
                         raise_on_lease_renewal_failure=False):  # fmt: skip
            acquired = True
            if busy:
                log.info("got %s after waiting %.0fs", what, time.monotonic() - started)
            yield
    except TimeoutError:
        if acquired:
            raise
        raise NrrError(
            f"waited {timeout:.0f}s for {what} (Prefect concurrency limit {name!r}); another "
            "run still holds it (NRR_LOCK_TIMEOUT)"
        ) from None
