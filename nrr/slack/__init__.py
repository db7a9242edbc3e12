"""Slack delivery of a monthly close: summary, charts, threshold alerts, exactly once.

Import the functions the flows call from `nrr.slack.service`; this package imports no
heavy dependency at module level so that `nrr compute` stays fast.
"""
