"""Chaos soak: many workflows on several worker processes while workers are killed and frozen and
the store restarts, then the end checks (nothing lost, nothing left behind, the counters add up).

``python -m rag_claimcheck.soak`` runs it; ``benchmarks/soak_bench.py`` at full size and
``tests/faults/test_soak.py`` in a short version.

May import: :mod:`rag_claimcheck.lifecycle` and everything below it.
"""
