"""Publishing snapshots as a task: one writer at a time, immutable versions."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.settings import Settings
from nrr.snapshots.store import PublishResult, publish_staged_month
from tasks.common import logger


@task(
    name="publish-snapshot",
    retries=2,
    retry_delay_seconds=5,
    timeout_seconds=3600,
    cache_policy=NO_CACHE,
)
def publish_snapshot(settings: Settings, staged_dir: Path, run_id: str) -> PublishResult:
    """Write the month's next snapshot version if its figures moved; say what happened."""
    result = publish_staged_month(settings, staged_dir, run_id=run_id)
    logger().info("%s", result.message)
    for figure in result.restatements[:20]:
        logger().info(
            "restated %s %s=%s %s-month %s: %s -> %s",
            result.period,
            figure.dimension,
            figure.segment,
            figure.window_months,
            figure.metric,
            figure.old,
            figure.new,
        )
    return result
