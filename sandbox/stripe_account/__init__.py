"""A synthetic Stripe account for tests and the demo (see docs/local-stripe.md)."""

from nrr.sandbox.stripe_account.account import Account, generate_account

__all__ = ["Account", "generate_account"]
