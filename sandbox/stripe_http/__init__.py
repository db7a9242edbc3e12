"""The HTTP side of the local Stripe: routing, list pagination, expand, faults."""
