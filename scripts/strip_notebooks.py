#!/usr/bin/env python3
"""Remove outputs and execution counts from notebooks and pin the kernelspec to python3.

python scripts/strip_notebooks.py notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def strip(path: Path) -> bool:
    """Strip one notebook in place; returns whether it changed."""
    before = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(before, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata.pop("widgets", None)
    after = nbformat.writes(notebook) + "\n"
    if after != before:
        path.write_text(after, encoding="utf-8")
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description="Strip outputs from Jupyter notebooks in place.")
    parser.add_argument("notebooks", nargs="+", type=Path, help=".ipynb files")
    args = parser.parse_args()
    for path in args.notebooks:
        print(f"{'stripped' if strip(path) else 'clean   '} {path}")


if __name__ == "__main__":
    main()
