#!/usr/bin/env python3
"""Conversation storage: store bytes and history bytes per turn, turns inline vs by reference.

    uv run python benchmarks/conversation_bench.py            # 50 turns each; JSON on stdout
    uv run python benchmarks/conversation_bench.py --turns 20

ConversationWorkflows over the bundled handbook on an embedded dev server with the file store,
claim check ``codec``, at the default inline threshold (128 KiB: a growing answer request stays
in history) and at 8 KiB (it is offloaded to the store, as a long chat's is at any threshold):

* ``inline`` (before): every answer call carries the whole conversation;
* ``references`` (after): each turn is stored once and the call carries a reference.

After every turn: the workflow's bytes in the store and the server's history size. Each series
gets a linear and a quadratic least-squares fit (``rag_claimcheck.notebook.conversations.growth_fit``);
``*_growth`` is the figure at the last turn minus the first (the document is stored at turn 1).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.data.samples import SAMPLE_DOCUMENT
from rag_claimcheck.notebook.conversations import converse, growth_fit, questions
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import ExtractiveAnswerer
from rag_claimcheck.rag.ingest import load_document
from rag_claimcheck.stack.embedded import EmbeddedStack

THRESHOLDS = {"default_128k": 128 * 1024, "offload_8k": 8 * 1024}


async def run(turns: int) -> dict[str, Any]:
    document = load_document(SAMPLE_DOCUMENT)
    asks = [f"{q} (turn {i + 1})" for i, q in enumerate(questions(turns))]
    with tempfile.TemporaryDirectory(prefix="conversation-bench-") as root:
        settings = dataclasses.replace(
            ClaimCheckSettings.from_env(mode="codec", store="file"), file_root=Path(root)
        )
        stack = await EmbeddedStack.start(
            settings=settings, ui=False, activities=RagActivities(answerer=ExtractiveAnswerer())
        )
        try:
            out: dict[str, Any] = {
                "turns": turns,
                "mode": "codec",
                "document_bytes": len(document.text.encode()),
            }
            for name, threshold in THRESHOLDS.items():
                runs: dict[str, Any] = {"inline_max_bytes": threshold}
                for label, by_reference in (("inline", False), ("references", True)):
                    chat = await converse(
                        stack,
                        "codec",
                        document,
                        asks,
                        inline_max_bytes=threshold,
                        turns_by_reference=by_reference,
                    )
                    if chat.error is not None or len(chat.turns) != turns:
                        raise SystemExit(f"{name}/{label}: the conversation failed: {chat.error}")
                    runs[label] = series(chat.turns)
                out[name] = runs
        finally:
            await stack.stop()
    return out


def series(frame: Any) -> dict[str, Any]:
    """Per-turn figures, their growth from the first turn to the last, and their fits."""
    out: dict[str, Any] = {}
    for column in ("store_bytes", "history_bytes"):
        values = [int(v) for v in frame[column]]
        out[column] = values
        out[f"{column}_growth"] = values[-1] - values[0]
        out[f"{column}_fit"] = dataclasses.asdict(growth_fit(frame, column))
    out["store_objects"] = [int(v) for v in frame["store_objects"]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=50, help="questions per conversation (default 50)")
    args = parser.parse_args(argv)
    if args.turns < 3:
        parser.error("--turns must be at least 3 (a quadratic fit needs three points)")
    print(json.dumps(asyncio.run(run(args.turns)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
