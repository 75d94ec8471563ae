#!/usr/bin/env python3
"""Benchmark retrieval: the kit's BM25 index against rank-bm25, bm25s and tantivy on the same chunks.

    uv run python benchmarks/retrieval_bench.py                       # ~20K and ~200K chunks
    uv run python benchmarks/retrieval_bench.py --chunks 20000 --rounds 5

Prints one JSON object on stdout (progress on stderr). For each size: a generated, non-repeating
corpus (``rag_claimcheck.corpus``) chunked by the kit's chunker, then for every engine, on those
chunks: index build time (wall and CPU), index memory, warm query latency (p50/p95 over the
corpus's questions, the rounds interleaved across engines) and recall@4 (a passage holds the
known answer). Engines:

* ``kit``: :class:`~rag_claimcheck.rag.retrieval.BM25Index`, the whole path a worker runs
  (tokenize the question, score, distinct passages).
* ``rank_bm25``: rank-bm25's ``BM25Okapi`` with the kit's Lucene idf and tokenizer
  (:class:`~rag_claimcheck.rag.retrieval.ReferenceBM25`), the reference the kit must agree with.
* ``bm25s``: bm25s (Lucene variant, its own tokenizer with the PyStemmer English stemmer).
* ``tantivy``: tantivy's Python bindings, an in-memory index with the ``en_stem`` analyzer,
  one indexing thread.

Index memory is what the build leaves allocated, traced with tracemalloc (numpy arrays
included; a second build, so tracing does not slow the timed one). tantivy allocates in Rust,
which tracemalloc cannot see, and rank-bm25 would take many minutes to build under tracing at
200K chunks, so theirs is the growth of the process's resident memory.
Also measured: the kit on the scaled handbook (repeated text, where distinct passages used to
need a full sort) and recall@4 on the bundled sample question set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import bm25s
import numpy as np
import Stemmer
import tantivy
from tqdm import tqdm

from rag_claimcheck.data.corpus import MIB, CorpusQuestion, generate_corpus
from rag_claimcheck.data.samples import sample_qa, sample_text, scaled_document
from rag_claimcheck.rag.chunking import chunk_text
from rag_claimcheck.rag.retrieval import BM25Index, ReferenceBM25
from rag_claimcheck.rag.tokenize import words

TOP_K = 4
TARGETS = {
    20_000: {"query_p50_ms": 2.0, "build_s": 1.0},
    200_000: {"query_p50_ms": 10.0, "build_s": 10.0},
}
MEMORY_VS_BM25S_TARGET = 1.5
SAMPLE_RECALL_FLOOR = 28


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class Engine(Protocol):
    name: str

    def build(self, texts: list[str]) -> None: ...

    def search(self, question: str, k: int) -> list[int]: ...

    def drop(self) -> None: ...


class Kit:
    name = "kit"

    def build(self, texts: list[str]) -> None:
        self.index = BM25Index.from_texts(texts)

    def search(self, question: str, k: int) -> list[int]:
        return [p.chunk_index for p in self.index.search(question, k)]

    def drop(self) -> None:
        self.__dict__.pop("index", None)


class RankBM25:
    name = "rank_bm25"

    def build(self, texts: list[str]) -> None:
        self.index = ReferenceBM25(texts)

    def search(self, question: str, k: int) -> list[int]:
        return [p.chunk_index for p in self.index.search(question, k)]

    def drop(self) -> None:
        self.__dict__.pop("index", None)


class Bm25s:
    name = "bm25s"

    def __init__(self) -> None:
        self.stemmer = Stemmer.Stemmer("english")

    def build(self, texts: list[str]) -> None:
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.index = bm25s.BM25(method="lucene")
        self.index.index(tokens, show_progress=False)

    def search(self, question: str, k: int) -> list[int]:
        tokens = bm25s.tokenize([question], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, _ = self.index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [int(d) for d in docs[0]]

    def drop(self) -> None:
        self.__dict__.pop("index", None)


class Tantivy:
    name = "tantivy"

    def build(self, texts: list[str]) -> None:
        schema = tantivy.SchemaBuilder()
        schema.add_text_field("body", stored=False, tokenizer_name="en_stem")
        schema.add_integer_field("chunk", stored=True)
        self.index = tantivy.Index(schema.build())
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        for i, text in enumerate(texts):
            writer.add_document(tantivy.Document(body=text, chunk=i))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, question: str, k: int) -> list[int]:
        # The query parser has its own syntax (field:, quotes, +/-): hand it the bare words.
        query = self.index.parse_query(" ".join(words(question)), ["body"])
        hits = self.searcher.search(query, k).hits
        return [self.searcher.doc(address)["chunk"][0] for _, address in hits]

    def drop(self) -> None:
        self.__dict__.pop("searcher", None)
        self.__dict__.pop("index", None)


@dataclass
class Measured:
    build_s: float
    build_cpu_s: float
    index_mib: float
    memory_kind: str


def measure_build(engine: Engine, texts: list[str]) -> Measured:
    gc.collect()
    rss_before = rss_bytes()
    wall, cpu = time.perf_counter(), time.process_time()
    engine.build(texts)
    build_s, build_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    if isinstance(engine, RankBM25):
        # Traced, its build would take many minutes at 200K chunks: what the timed build added
        # to the process (an upper bound: freed token lists may stay in the allocator's arenas).
        gc.collect()
        return Measured(build_s, build_cpu_s, (rss_bytes() - rss_before) / MIB, "rss growth")
    engine.drop()
    gc.collect()
    if isinstance(engine, Tantivy):
        # tantivy allocates in Rust, out of tracemalloc's sight: what a second build adds.
        before = rss_bytes()
        engine.build(texts)
        gc.collect()
        return Measured(build_s, build_cpu_s, (rss_bytes() - before) / MIB, "rss growth")
    tracemalloc.start()
    engine.build(texts)
    gc.collect()
    retained, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measured(build_s, build_cpu_s, retained / MIB, "tracemalloc")


def recall(engine: Engine, texts: list[str], questions: list[CorpusQuestion]) -> int:
    return sum(
        any(q.answer_contains in texts[i] for i in engine.search(q.question, TOP_K)) for q in questions
    )


def corpus_chunks(target_chunks: int, seed: int) -> tuple[list[str], list[CorpusQuestion], int]:
    """A generated corpus sized for about ``target_chunks`` chunks, its chunk texts and questions."""
    probe_size = 2 * MIB
    per_chunk = probe_size / len(chunk_text(generate_corpus(probe_size, seed=seed).text))
    size = int(target_chunks * per_chunk)
    corpus = generate_corpus(size, seed=seed, questions=30)
    texts = [c.text for c in chunk_text(corpus.text)]
    return texts, corpus.questions, size


def bench_size(
    target: int, engines: list[Engine], rounds: int, reference_queries: int, seed: int
) -> dict[str, Any]:
    log(f"corpus for ~{target:,} chunks")
    texts, questions, size = corpus_chunks(target, seed)
    log(f"{len(texts):,} chunks, {size / MIB:.1f} MiB")
    result: dict[str, Any] = {"chunks": len(texts), "corpus_mib": round(size / MIB, 1), "engines": {}}
    for engine in engines:
        log(f"  {engine.name}: build")
        m = measure_build(engine, texts)
        result["engines"][engine.name] = {
            "build_s": round(m.build_s, 3),
            "build_cpu_s": round(m.build_cpu_s, 3),
            "index_mib": round(m.index_mib, 1),
            "index_memory_measured_by": m.memory_kind,
            "recall_at_4": f"{recall(engine, texts, questions)}/{len(questions)}",
        }
    # Warm queries, rounds interleaved across engines so load on the shared machine hits all alike.
    latencies: dict[str, list[float]] = {e.name: [] for e in engines}
    for _ in tqdm(range(rounds), desc="  query rounds", file=sys.stderr):
        for engine in engines:
            asked = questions if engine.name != "rank_bm25" else questions[:reference_queries]
            for q in asked:
                t = time.perf_counter()
                engine.search(q.question, TOP_K)
                latencies[engine.name].append((time.perf_counter() - t) * 1000)
    for engine in engines:
        ms = latencies[engine.name]
        result["engines"][engine.name].update(
            query_p50_ms=round(statistics.median(ms), 3),
            query_p95_ms=round(percentile(ms, 0.95), 3),
            queries=len(ms),
        )
        engine.drop()
    gc.collect()
    result["agreement_with_rank_bm25"] = "checked by tests/unit/test_retrieval_reference.py"
    kit, peers = result["engines"]["kit"], result["engines"]
    target_key = min(TARGETS, key=lambda t: abs(t - len(texts)))
    goals = TARGETS[target_key]
    result["targets"] = {
        "query_p50_ms": {
            "target": goals["query_p50_ms"],
            "met": kit["query_p50_ms"] <= goals["query_p50_ms"],
        },
        "build_s": {"target": goals["build_s"], "met": kit["build_s"] <= goals["build_s"]},
    }
    if "bm25s" in peers:
        ratio = kit["index_mib"] / peers["bm25s"]["index_mib"]
        result["targets"]["index_memory_vs_bm25s"] = {
            "ratio": round(ratio, 2),
            "target": MEMORY_VS_BM25S_TARGET,
            "met": ratio <= MEMORY_VS_BM25S_TARGET,
        }
    if "rank_bm25" in peers:
        result["speedup_vs_rank_bm25"] = {
            "query_p50": round(peers["rank_bm25"]["query_p50_ms"] / kit["query_p50_ms"], 1),
            "build": round(peers["rank_bm25"]["build_s"] / kit["build_s"], 1),
        }
    return result


def bench_repeated(target: int, rounds: int) -> dict[str, Any]:
    """The kit on the scaled handbook (the same text repeated): distinct passages among copies."""
    probe = len(chunk_text(scaled_document(2 * MIB).decode()))
    texts = [c.text for c in chunk_text(scaled_document(int(2 * MIB * target / probe)).decode())]
    t = time.perf_counter()
    index = BM25Index.from_texts(texts)
    build_s = time.perf_counter() - t
    ms = []
    for _ in range(rounds):
        for pair in sample_qa():
            t = time.perf_counter()
            index.search(pair.question, TOP_K)
            ms.append((time.perf_counter() - t) * 1000)
    return {
        "chunks": len(texts),
        "distinct_texts": len(index.first_chunks),
        "build_s": round(build_s, 3),
        "query_p50_ms": round(statistics.median(ms), 3),
        "query_p95_ms": round(percentile(ms, 0.95), 3),
    }


def sample_recall() -> str:
    texts = [c.text for c in chunk_text(sample_text())]
    index = BM25Index.from_texts(texts)
    qa = sample_qa()
    hits = sum(any(pair.answer_contains in p.text for p in index.search(pair.question, TOP_K)) for pair in qa)
    return f"{hits}/{len(qa)}"


ENGINES: dict[str, Callable[[], Engine]] = {
    "kit": Kit,
    "rank_bm25": RankBM25,
    "bm25s": Bm25s,
    "tantivy": Tantivy,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--chunks",
        type=int,
        nargs="+",
        default=[20_000, 200_000],
        help="corpus sizes in chunks (default 20000 200000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each question is asked per engine (default 3)"
    )
    parser.add_argument(
        "--reference-queries",
        type=int,
        default=10,
        help="questions per round for rank-bm25, which takes up to a second each at 200K chunks (default 10)",
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=list(ENGINES),
        default=list(ENGINES),
        help="engines to run (default all)",
    )
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (default 7)")
    args = parser.parse_args(argv)
    if any(c < 10 for c in args.chunks) or args.rounds < 1 or args.reference_queries < 1:
        parser.error("--chunks must be at least 10, --rounds and --reference-queries at least 1")
    if "kit" not in args.engines:
        parser.error("--engines must include kit (the figures are ratios to it)")
    engines = [ENGINES[name]() for name in args.engines]
    sample = sample_recall()
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "bm25s": bm25s.__version__,
        "tantivy": getattr(tantivy, "__version__", "?"),
        "top_k": TOP_K,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "sample_set_recall_at_4": {"value": sample, "floor": f"{SAMPLE_RECALL_FLOOR}/30"},
        "sizes": [],
    }
    for chunks in args.chunks:
        report["sizes"].append(bench_size(chunks, engines, args.rounds, args.reference_queries, args.seed))
        log(json.dumps(report["sizes"][-1]))  # each size as soon as it is measured
    report["repeated_handbook_kit"] = bench_repeated(min(args.chunks), args.rounds)
    report["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
