"""Prefect deployments of the product's flows (see deployments/README.md)."""
