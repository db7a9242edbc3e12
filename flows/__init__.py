"""Prefect flows: they only orchestrate tasks (see tasks/), never compute anything themselves."""

import os

# Let Prefect capture the product's own loggers (Stripe progress, Slack delivery, ...).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "nrr")
# No telemetry from a finance team's pipeline (and no network to send it to in CI).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
