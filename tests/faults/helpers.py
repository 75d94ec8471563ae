"""Running the kit's commands as separate OS processes, as an operator would.

``run`` (one command to its end, bounded) is the integration tests' own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.test_commands import run

__all__ = ["alive", "command_env", "descendants", "one_line", "run", "spawn"]

ROOT = Path(__file__).resolve().parents[2]


def command_env(**extra: str) -> dict[str, str]:
    """The test's environment plus ``extra``, with unbuffered output."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def one_line(stream: str) -> str:
    """The single line ``stream`` holds; fails if it holds more (e.g. a traceback)."""
    lines = stream.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{stream[-3000:]}"
    assert "Traceback" not in stream
    return lines[0]


def spawn(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``python ARGS`` in the repository, stdout and stderr into ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
