#!/usr/bin/env python3
"""Benchmark the RAG path; prints one JSON object on stdout (progress on stderr).

    uv run python benchmarks/rag_bench.py --only retrieval   # 20,000-chunk document: warm vs rebuild
    uv run python benchmarks/rag_bench.py --only history     # history bytes per mode across sizes

retrieval: per-question latency from a warm index (the activity a warm worker runs) against
rebuilding the index for every question, measured in this one run; plus the per-question
latency of ConversationWorkflow updates through a real dev server and worker.
Large documents (100 MiB to 1 GiB, by reference) have their own bench: large_document_bench.py.
history: AiRagWorkflow per mode (off, codec, extstore) across document sizes; the server's
history_size_bytes, or the server's error where a mode fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment
from tqdm import tqdm

from rag_claimcheck.claimcheck.settings import MODES, ClaimCheckSettings
from rag_claimcheck.data.samples import sample_qa
from rag_claimcheck.notebook.experiments import ask, document_of
from rag_claimcheck.observe.logs import forward_core_logs
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import ExtractiveAnswerer
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import ConversationInput, RetrievalQuery, SourceDocument
from rag_claimcheck.rag.retrieval import IndexCache
from rag_claimcheck.rag.workflows import ConversationWorkflow
from rag_claimcheck.stack.embedded import EmbeddedStack

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
TARGET_CHUNKS = 20_000
LATENCY_TARGET_MS = 100.0
SPEEDUP_TARGET = 30.0
THINK_TIME_S = 0.25


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def document_of_chunks(target: int) -> tuple[SourceDocument, int]:
    """A scaled handbook with about ``target`` chunks."""
    probe = ingest(document_of(2 * MIB))
    size = int(2 * MIB * target / probe.chunk_count)
    return document_of(size), size


async def bench_retrieval(rounds: int) -> dict[str, object]:
    doc, size = document_of_chunks(TARGET_CHUNKS)
    ingested = ingest(doc)
    questions = [q.question for q in sample_qa()]
    log(f"retrieval: {ingested.chunk_count} chunks ({size / MIB:.1f} MiB)")

    warm = RagActivities(answerer=ExtractiveAnswerer())
    started = time.perf_counter()
    payload = RawValue(DataConverter.default.payload_converter.to_payload(doc))
    env = ActivityEnvironment()
    await env.run(warm.retrieve_passages, payload, ingested, RetrievalQuery(questions[0], 4))
    first_build_s = time.perf_counter() - started
    warm_ms = []
    for _ in tqdm(range(rounds), desc="warm index", file=sys.stderr):
        for q in questions:
            t = time.perf_counter()
            result = await warm.retrieve_from_cache(ingested.key, RetrievalQuery(q, 4))
            warm_ms.append((time.perf_counter() - t) * 1000)
            assert result.hit
    rebuild_ms = []
    for q in tqdm(questions[:3], desc="rebuild per question", file=sys.stderr):
        cold = RagActivities(answerer=ExtractiveAnswerer(), index_cache=IndexCache())
        t = time.perf_counter()
        await env.run(cold.retrieve_passages, payload, ingested, RetrievalQuery(q, 4))
        rebuild_ms.append((time.perf_counter() - t) * 1000)

    log("retrieval through a real dev server and worker (ConversationWorkflow, codec mode)")
    with tempfile.TemporaryDirectory() as blobs:
        stack = await offline_stack(Path(blobs))
        try:
            runtime = await stack.runtime("codec")
            handle = await runtime.client.start_workflow(
                ConversationWorkflow.run,
                args=[doc, ConversationInput()],
                id=f"bench-chat-{uuid.uuid4().hex[:8]}",
                task_queue=runtime.task_queue,
                execution_timeout=timedelta(minutes=10),
            )
            t = time.perf_counter()
            await handle.execute_update(ConversationWorkflow.ask, questions[0])
            first_question_s = time.perf_counter() - t
            update_ms = []
            for q in tqdm(questions[1:], desc="warm updates", file=sys.stderr):
                # Back-to-back updates hit a limiter after ~8 (a flat 200 ms each, in every mode and
                # for any document size); a person pauses between questions, so the bench does too.
                await asyncio.sleep(THINK_TIME_S)
                t = time.perf_counter()
                await handle.execute_update(ConversationWorkflow.ask, q)
                update_ms.append((time.perf_counter() - t) * 1000)
            await handle.signal(ConversationWorkflow.end)
            await handle.result()
        finally:
            await stack.stop()

    p50 = statistics.median(warm_ms)
    rebuild = statistics.median(rebuild_ms)
    return {
        "chunks": ingested.chunk_count,
        "document_bytes": size,
        "first_index_build_s": round(first_build_s, 2),
        "warm_index_ms": {
            "p50": round(p50, 2),
            "p95": round(percentile(warm_ms, 0.95), 2),
            "max": round(max(warm_ms), 2),
            "n": len(warm_ms),
        },
        "rebuild_per_question_ms": {"median": round(rebuild, 1), "n": len(rebuild_ms)},
        "speedup": round(rebuild / p50, 1),
        "meets_latency_target": p50 <= LATENCY_TARGET_MS,
        "meets_speedup_target": rebuild / p50 >= SPEEDUP_TARGET,
        "through_worker": {
            "first_question_s": round(first_question_s, 2),
            "think_time_s": THINK_TIME_S,
            "warm_update_ms": {
                "p50": round(statistics.median(update_ms), 1),
                "p95": round(percentile(update_ms, 0.95), 1),
                "n": len(update_ms),
            },
        },
    }


async def offline_stack(blobs: Path) -> EmbeddedStack:
    """A headless embedded stack with a filesystem store in ``blobs`` and the offline answerer."""
    return await EmbeddedStack.start(
        settings=ClaimCheckSettings(file_root=blobs),
        ui=False,
        activities=RagActivities(answerer=ExtractiveAnswerer()),
    )


async def bench_history(sizes_kib: list[int]) -> dict[str, object]:
    rows = []
    with tempfile.TemporaryDirectory() as blobs:
        stack = await offline_stack(Path(blobs))
        try:
            for size in tqdm(sizes_kib, desc="document sizes", file=sys.stderr):
                doc = document_of(size * 1024)
                for mode in MODES:
                    _, row = await ask(stack, mode, doc)
                    rows.append({"document_kib": size, **row})
        finally:
            await stack.stop()
    return {"rows": rows}


async def main(args: argparse.Namespace) -> dict[str, object]:
    forward_core_logs()
    out: dict[str, object] = {}
    if args.only in (None, "retrieval"):
        out["retrieval"] = await bench_retrieval(args.rounds)
    if args.only in (None, "history"):
        out["history"] = await bench_history(args.sizes_kib)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmark retrieval and history sizes (JSON on stdout).")
    parser.add_argument("--only", choices=("retrieval", "history"), help="run one part (default: all)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds over the 30 sample questions (retrieval)"
    )
    parser.add_argument(
        "--sizes-kib",
        type=int,
        nargs="+",
        default=[64, 256, 1024, 1536, 4096, 20480],
        help="document sizes (KiB) for the history table",
    )
    args = parser.parse_args()
    if args.rounds < 1 or min(args.sizes_kib) < 1:
        parser.error("--rounds and --sizes-kib must be positive")
    print(json.dumps(asyncio.run(main(args)), indent=2))
