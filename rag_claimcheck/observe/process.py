"""A process's resident memory, now and at its peak (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path

MIB = 1024 * 1024


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` now (``VmRSS``)."""
    return _status_bytes(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    """The most resident memory ``pid`` has had (``VmHWM``, the high-water mark)."""
    return _status_bytes(pid, "VmHWM")
