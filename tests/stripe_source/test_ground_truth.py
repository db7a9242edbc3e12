"""End to end: synthetic account -> local Stripe -> extract -> compute -> the generator's truth.

The generator's truth comes from what its simulation decided each customer pays, not from
the Stripe objects, so agreement to the cent means the extraction and the derivation are
right, not merely consistent with themselves.
"""

from __future__ import annotations

import duckdb
import pytest

from nrr.compute import compute
from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from tests.stripe_source.conftest import small_account, stripe_settings


@pytest.mark.slow  # a generated account served, extracted and computed, twice
@pytest.mark.parametrize("seed", [21, 5])
def test_every_customer_month_matches_the_ground_truth(tmp_path, seed):
    account = small_account(seed=seed, customers=300, months=30)
    fx = account.write_fx_rates(tmp_path / "fx.csv")
    with serve(account) as server:
        settings = stripe_settings(tmp_path / "data", server.url, fx_rates_path=fx)
        extract(settings)
    last_month = max(account.truth.column("month").to_pylist())
    compute(settings, last_month)

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.register("truth", account.truth)
    con.register("kinds", account.truth_churn_kind)
    wrong = con.execute(
        """
        select coalesce(t.customer_id, c.customer_id), coalesce(t.month, c.month), t.mrr, c.mrr
        from truth as t
        full join customer_mrr_monthly as c using (customer_id, month)
        where abs(coalesce(t.mrr, 0) - coalesce(c.mrr, 0)) >= 0.005
        order by 1, 2
        """
    ).fetchall()
    assert wrong == [], f"{len(wrong)} customer-months differ, first: {wrong[:5]}"
    assert account.truth.num_rows > 2_000

    kinds = con.execute(
        """
        select k.customer_id, k.month, k.churn_kind, m.churn_kind
        from kinds as k
        left join mrr_movements as m
            on m.customer_id = k.customer_id and m.month = k.month and m.movement = 'churn'
        where m.churn_kind is distinct from k.churn_kind
        """
    ).fetchall()
    assert kinds == [], f"churn kinds differ: {kinds[:5]}"
    assert {"voluntary", "involuntary"} <= set(
        account.truth_churn_kind.column("churn_kind").to_pylist()
    )
    # the movements and the bridge follow from the same rows
    off = con.execute("select count(*) from mrr_bridge where abs(difference) > 0.005").fetchone()
    assert off == (0,)
