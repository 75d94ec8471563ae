#!/usr/bin/env python3
"""Benchmark the claim-check codec against MinIO; prints one JSON object on stdout.

Three measurements, each in this one process against one MinIO, so the figures are ratios:

1. batch: 10 x 1 MiB payloads encoded then decoded by ClaimCheckCodec (one long-lived client,
   concurrent) vs a recipe-style codec written here (a new S3 client per call, bucket HEAD
   on every call, one payload at a time). Target: >= 8x faster.
2. single: one 10 MiB payload round trip, compression off, vs raw aioboto3 put_object +
   get_object of the same bytes on a warm client. Target: <= 1.2x the raw time.
3. inline: payloads under the threshold make zero store calls.

Every repetition uses fresh bytes, so dedup never short-cuts an upload.

    uv run python benchmarks/codec_bench.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import aioboto3
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from rag_claimcheck.claimcheck import ClaimCheckCodec
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.storage.s3 import S3BlobStore

MIB = 1024 * 1024
BUCKET = "bench"


class RecipeStyleCodec:
    """The published recipe's approach, for comparison: new client per call, sequential, random keys."""

    def __init__(self, minio: MinioServer) -> None:
        self.session = aioboto3.Session(
            aws_access_key_id=minio.access_key,
            aws_secret_access_key=minio.secret_key,
            region_name="us-east-1",
        )
        self.endpoint = minio.endpoint_url

    async def _bucket(self, s3) -> None:  # type: ignore[no-untyped-def] # aioboto3 client
        try:
            await s3.head_bucket(Bucket=BUCKET)
        except Exception:
            await s3.create_bucket(Bucket=BUCKET)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            async with self.session.client("s3", endpoint_url=self.endpoint) as s3:
                await self._bucket(s3)
                key = str(uuid.uuid4())
                await s3.put_object(Bucket=BUCKET, Key=key, Body=p.SerializeToString())
            out.append(
                Payload(
                    metadata={"encoding": b"claim-checked", "temporal.io/claim-check-codec": b"v1"},
                    data=key.encode(),
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            async with self.session.client("s3", endpoint_url=self.endpoint) as s3:
                await self._bucket(s3)
                obj = await s3.get_object(Bucket=BUCKET, Key=p.data.decode())
                restored = Payload()
                restored.ParseFromString(await obj["Body"].read())
            out.append(restored)
        return out


class CountingS3Store(S3BlobStore):
    """Counts every store call."""

    calls = 0

    async def put(self, *, key: str, data: bytes, sha256_hex: str | None = None) -> None:
        self.calls += 1
        await super().put(key=key, data=data, sha256_hex=sha256_hex)

    async def get(self, *, key: str) -> bytes:
        self.calls += 1
        return await super().get(key=key)

    async def exists(self, *, key: str) -> bool:
        self.calls += 1
        return await super().exists(key=key)


def fresh_payloads(count: int, size: int) -> list[Payload]:
    return [Payload(metadata={"encoding": b"binary/plain"}, data=os.urandom(size)) for _ in range(count)]


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def main(repeats: int) -> dict[str, object]:
    minio = await MinioServer.start()
    try:
        store = CountingS3Store(
            bucket=BUCKET,
            endpoint_url=minio.endpoint_url,
            access_key_id=minio.access_key,
            secret_access_key=minio.secret_key,
        )
        context = WorkflowSerializationContext(namespace="default", workflow_id="bench")
        recipe = RecipeStyleCodec(minio)
        await store.put(key="warmup", data=b"x")  # opens the long-lived client and the bucket

        ours_batch, recipe_batch = [], []
        for r in range(repeats):
            log(f"batch 10 x 1 MiB, repeat {r + 1}/{repeats}")
            codec = ClaimCheckCodec(store).with_context(context)
            payloads = fresh_payloads(10, MIB)

            recipe_payloads = fresh_payloads(10, MIB)
            results: dict[str, list[Payload]] = {}

            async def ours(
                payloads: list[Payload] = payloads, codec: ClaimCheckCodec = codec, results: dict = results
            ) -> None:
                results["ours"] = await codec.decode(await codec.encode(payloads))

            async def baseline(payloads: list[Payload] = recipe_payloads, results: dict = results) -> None:
                results["recipe"] = await recipe.decode(await recipe.encode(payloads))

            ours_batch.append(await timed(ours))
            recipe_batch.append(await timed(baseline))
            assert results["ours"] == payloads and results["recipe"] == recipe_payloads

        async with aioboto3.Session(
            aws_access_key_id=minio.access_key,
            aws_secret_access_key=minio.secret_key,
            region_name="us-east-1",
        ).client("s3", endpoint_url=minio.endpoint_url) as raw:
            await raw.put_object(Bucket=BUCKET, Key="raw-warmup", Body=b"x")
            ours_single, raw_single = [], []
            for r in range(repeats):
                log(f"single 10 MiB round trip, repeat {r + 1}/{repeats}")
                codec = ClaimCheckCodec(store, compression="none").with_context(context)
                [payload] = fresh_payloads(1, 10 * MIB)
                data = os.urandom(10 * MIB)

                got: dict[str, object] = {}

                async def ours_one(
                    payload: Payload = payload, codec: ClaimCheckCodec = codec, got: dict = got
                ) -> None:
                    got["ours"] = await codec.decode(await codec.encode([payload]))

                async def raw_one(data: bytes = data, got: dict = got) -> None:
                    key = f"raw/{uuid.uuid4()}"
                    await raw.put_object(Bucket=BUCKET, Key=key, Body=data)
                    obj = await raw.get_object(Bucket=BUCKET, Key=key)
                    got["raw"] = await obj["Body"].read()

                # Alternate the order so neither side always runs on a warmer machine.
                if r % 2:
                    raw_single.append(await timed(raw_one))
                    ours_single.append(await timed(ours_one))
                else:
                    ours_single.append(await timed(ours_one))
                    raw_single.append(await timed(raw_one))
                assert got["ours"] == [payload] and got["raw"] == data

        log("inline payloads")
        store.calls = 0
        codec = ClaimCheckCodec(store).with_context(context)
        small = fresh_payloads(100, 64 * 1024)
        assert await codec.decode(await codec.encode(small)) == small
        inline_calls = store.calls
        await store.close()
    finally:
        await minio.stop()

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 4)

    batch_speedup = statistics.median(recipe_batch) / statistics.median(ours_batch)
    single_ratio = statistics.median(ours_single) / statistics.median(raw_single)
    return {
        "repeats": repeats,
        "batch_10x1MiB": {
            "claim_check_codec_s": med(ours_batch),
            "recipe_style_codec_s": med(recipe_batch),
            "speedup": round(batch_speedup, 2),
            "target_speedup": 8.0,
            "meets_target": batch_speedup >= 8.0,
        },
        "single_10MiB_round_trip": {
            "claim_check_codec_s": med(ours_single),
            "raw_aioboto3_s": med(raw_single),
            "ratio": round(single_ratio, 3),
            "target_ratio_max": 1.2,
            "meets_target": single_ratio <= 1.2,
        },
        "inline_100x64KiB": {"store_calls": inline_calls, "target": 0, "meets_target": inline_calls == 0},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmark ClaimCheckCodec against MinIO (JSON on stdout).")
    parser.add_argument(
        "--repeats", type=int, default=5, help="repetitions per measurement (median is reported)"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    print(json.dumps(asyncio.run(main(args.repeats)), indent=2))
