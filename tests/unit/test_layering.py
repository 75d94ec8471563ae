"""The package is layered: each folder imports only the folders below it.

The contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and is checked by
import-linter's ``lint-imports``, the same command ``make lint`` runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rag_claimcheck"


def layers_contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return contract


def test_no_package_imports_a_package_above_it() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency: run make setup"
    done = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout, done.stdout


def test_every_package_of_the_kit_has_a_place_in_the_layers() -> None:
    named = {
        name.strip()
        for layer in layers_contract()["layers"]  # type: ignore[attr-defined]  # a list of strings
        for name in layer.split("|")
    }
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages == named, f"not in a layer: {sorted(packages - named)}; gone: {sorted(named - packages)}"


def test_every_package_says_what_it_may_import() -> None:
    silent = [
        p.parent.name
        for p in PACKAGE.glob("*/__init__.py")
        if "May import:" not in p.read_text(encoding="utf-8")
    ]
    assert not silent, f"packages whose docstring does not say what they may import: {silent}"
