"""The plain SQL twin of the engine: the metric contract read literally, one model per rule.

The engine (`metrics/models/{staging,intermediate,marts}`) is fast: it works on spells and
ranges of months. The twin (`metrics/models/twin`) is what an auditor reads against
docs/metrics.md: window by window and customer by customer, over the published
`customer_mrr_monthly` and the per-customer member tables (`retention_window_members`,
`cohort_retention_members`), which carry the one figure it cannot derive itself, a value at
another month's exchange rate. The close creates the twin as temporary views next to the
staged marts and the output gate's audits compare it with the engine, cell by cell.
"""

from __future__ import annotations

import duckdb

from nrr.errors import NrrError
from nrr.metrics.engine import (
    EngineParams,
    ledger_attributes,
    literal,
    quote,
    resolve_dimensions,
)
from nrr.metrics.engine import _template as model_template
from nrr.relations import persistent_relations

# In dependency order; each is a temporary view named after its file.
TWIN_MODELS = (
    "twin_months",
    "twin_customer_mrr",
    "twin_window_members",
    "twin_retention_windows",
    "twin_cohort_members",
    "twin_cohort_retention",
)
# What the twin reads: the published tables.
TWIN_INPUTS = ("customer_mrr_monthly", "retention_window_members", "cohort_retention_members")
# customer_mrr_monthly's columns that are not segment attributes of the ledger
NOT_ATTRIBUTES = ("month", "mrr", "acv_band", "cohort_month")


def render_twin(name: str, params: EngineParams, dimensions: tuple[str, ...]) -> str:
    """The SQL of twin model `name` for the run's definitions."""
    return model_template("twin", name).render(
        as_of=f"date '{params.as_of.isoformat()}'",
        windows=params.windows,
        reactivation_policy=params.reactivation_policy,
        dimensions=dimensions,
        q=quote,
        literal=literal,
    )


def create_twin(con: duckdb.DuckDBPyConnection, params: EngineParams) -> None:
    """Create the twin's models as temporary views over the published tables in `con`."""
    present = persistent_relations(con)
    missing = [name for name in TWIN_INPUTS if name not in present]
    if missing:
        raise NrrError(
            f"the warehouse lacks {', '.join(missing)}: run `nrr compute` before validating it"
        )
    attributes = tuple(
        c for c in ledger_attributes(con, "customer_mrr_monthly") if c not in NOT_ATTRIBUTES
    )
    dimensions = resolve_dimensions(params.segment_dimensions, attributes)
    for name in TWIN_MODELS:
        con.execute(
            f"create or replace temp view {name} as\n{render_twin(name, params, dimensions)}"
        )
