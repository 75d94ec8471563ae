"""A document's workflow tasks get time in proportion to its size, from the SDK's 10 s to the server's 120 s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.run import workflow_task_timeout

MIB = 1024 * 1024


def document(size: int) -> SourceDocument:
    return SourceDocument(filename="d.md", mime_type="text/markdown", text="x" * size)


@pytest.mark.parametrize(
    ("size", "seconds"),
    [(1, 10.0), (MIB, 10.125), (100 * MIB, 22.5), (500 * MIB, 72.5), (1000 * MIB, 120.0)],
)
def test_the_timeout_grows_with_the_document_and_stops_at_the_servers_ceiling(
    size: int, seconds: float
) -> None:
    assert workflow_task_timeout(document(size)) == timedelta(seconds=seconds)
