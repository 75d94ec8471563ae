"""A document's workflow tasks get time in proportion to its size, from the SDK's 10 s to the server's 120 s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rag_claimcheck.rag.starter import utf8_size_bound, workflow_task_timeout

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "seconds"),
    [(0, 10.0), (MIB, 10.125), (100 * MIB, 22.5), (500 * MIB, 72.5), (1000 * MIB, 120.0)],
)
def test_the_timeout_grows_with_the_document_and_stops_at_the_servers_ceiling(
    size: int, seconds: float
) -> None:
    assert workflow_task_timeout(size) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["plain ascii", "Größe", "日本語", "emoji 🙂", ""])
def test_the_size_bound_is_exact_for_ascii_and_never_below_the_utf8_size(text: str) -> None:
    bound = utf8_size_bound(text)
    assert bound >= len(text.encode())
    assert (bound == len(text.encode())) == text.isascii()
