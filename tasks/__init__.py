"""Prefect tasks: thin wrappers that give domain functions retries, timeouts and logs.

Each task calls one function of `nrr`, `metrics` or `expectations`; the logic stays
testable without Prefect (call the function, or `task.fn(...)`).
"""
