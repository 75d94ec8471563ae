"""Measuring what the kit does: event-history sizes, Prometheus metrics, the SDK core's logs, a probe workflow.

May import: nothing else of the kit (the claim-check machinery counts into :mod:`.metrics`).
"""
