"""Publishing snapshots as a task: one writer at a time, immutable versions."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.settings import Settings
from nrr.snapshots.store import PublishResult, publish_staged_month
from nrr.tasks.common import logger


def _not_a_user_error(task, task_run, state) -> bool:
    """Retry crashes and locks, not refusals (implausible figures stay implausible)."""
    from nrr.errors import NrrError

    try:
        state.result()
    except NrrError:
        return False
    except BaseException:
        return True
    return True


@task(
    name="publish-snapshot",
    retries=2,
    retry_condition_fn=_not_a_user_error,
    retry_delay_seconds=5,
    timeout_seconds=3600,
    cache_policy=NO_CACHE,
)
def publish_snapshot(
    settings: Settings,
    staged_dir: Path,
    run_id: str,
    confirm_implausible: bool = False,
    follow_up: bool | None = None,
) -> PublishResult:
    """Write the month's next snapshot version if its figures moved; say what happened.
    `follow_up`: the new version still needs its report (and, when True, its messages)."""
    result = publish_staged_month(
        settings,
        staged_dir,
        run_id=run_id,
        confirm_implausible=confirm_implausible,
        follow_up=follow_up,
    )
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
