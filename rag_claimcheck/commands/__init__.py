"""The command-line surfaces: what ``worker.py`` and ``start_workflow.py`` share, ``gc``, ``bundle``.

May import: everything but :mod:`rag_claimcheck.notebook`.
"""
