"""Synthetic Stripe accounts with ground truth: the public entry point.

    from nrr.sandbox.stripe_generator import generate_account
    account = generate_account(3000, 36, first_month=date(2023, 1, 1), seed=7)
    account.truth            # customer_id, month, mrr (reporting currency), currency, mrr_native
    account.truth_churn_kind # customer_id, month, churn_kind
    account.fx_rates         # currency, rate, month (YYYY-MM)
    account.advance(30)      # the account lives 30 more days, emitting events

The implementation lives in the `nrr.sandbox.stripe_account` package (the
`sandbox/stripe_account/` folder); docs/local-stripe.md explains every modelling choice.
"""

from nrr.sandbox.stripe_account import Account, generate_account

__all__ = ["Account", "generate_account"]
