"""Extract a synthetic account from the local Stripe, compute, and compare with its truth."""

from __future__ import annotations

from pathlib import Path

import duckdb

from nrr.compute import compute
from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from tests.stripe_source.conftest import stripe_settings


def differences_from_truth(account: Account, tmp_path: Path) -> dict[str, list[tuple]]:
    """Customer-months whose MRR differs from the truth (to the cent), churns whose kind
    differs, and bridge months that do not reconcile: all empty when everything holds."""
    fx = account.write_fx_rates(tmp_path / "fx.csv")
    with serve(account) as server:
        settings = stripe_settings(tmp_path / "data", server.url, fx_rates_path=fx)
        extract(settings)
    last_month = max(account.truth.column("month").to_pylist())
    compute(settings, last_month)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        con.register("truth", account.truth)
        con.register("kinds", account.truth_churn_kind)
        mrr = con.execute(
            """
            select coalesce(t.customer_id, c.customer_id), coalesce(t.month, c.month),
                   t.mrr, c.mrr
            from truth as t
            full join customer_mrr_monthly as c using (customer_id, month)
            where abs(coalesce(t.mrr, 0) - coalesce(c.mrr, 0)) >= 0.005
            order by 1, 2
            """
        ).fetchall()
        kinds = con.execute(
            """
            select k.customer_id, k.month, k.churn_kind, m.churn_kind
            from kinds as k
            left join mrr_movements as m
                on m.customer_id = k.customer_id and m.month = k.month
                and m.movement = 'churn'
            where m.churn_kind is distinct from k.churn_kind
            order by 1, 2
            """
        ).fetchall()
        bridge = con.execute("select * from mrr_bridge where abs(difference) > 0.005").fetchall()
    finally:
        con.close()
    return {"mrr": mrr, "churn_kind": kinds, "bridge": bridge}
