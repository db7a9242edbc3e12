"""Prefect deployments of the product's flows, defined once in definitions.py: registered
for a work pool by `nrr deploy`, or served from one process by `python -m nrr.deployments.serve`."""
