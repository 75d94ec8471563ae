"""Helpers that keep the notebooks short: start/stop the embedded stack, run experiments, plot.

Heavy optional imports (matplotlib, ipywidgets, pandas) live here and never in modules that
workflows import.

May import: everything but :mod:`rag_claimcheck.commands`.
"""
