"""Stripe extraction as a task: retried as a whole when the outside world fails."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.settings import Settings
from nrr.tasks.common import logger


@task(
    name="extract-stripe",
    retries=2,
    retry_delay_seconds=60,
    timeout_seconds=4 * 3600,
    cache_policy=NO_CACHE,
)
def extract_stripe(
    settings: Settings, full: bool = False, progress: bool = False
) -> dict[str, object]:
    """Fetch what changed in Stripe into the raw lake (incremental unless `full`).

    `progress` draws a live bar on the terminal (for people at a command line); the counts
    and rate are logged to Prefect either way.
    """
    from nrr.stripe_source.extract import extract

    result = extract(settings, full=full, progress=progress)
    counts = ", ".join(f"{name} {count:,}" for name, count in sorted(result.counts.items()))
    logger().info(
        "Stripe %s extraction %s: %s objects in %.1fs with %s requests (%s)",
        result.mode,
        result.run_id,
        f"{sum(result.counts.values()):,}",
        result.seconds,
        f"{result.requests:,}",
        counts,
    )
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "counts": dict(result.counts),
        "requests": result.requests,
        "seconds": result.seconds,
    }


def extract_with_retries(settings: Settings):
    """The task with the retries of the settings (NRR_EXTRACT_RETRIES, _RETRY_DELAY)."""
    return extract_stripe.with_options(
        retries=settings.extract_retries, retry_delay_seconds=settings.extract_retry_delay_seconds
    )
