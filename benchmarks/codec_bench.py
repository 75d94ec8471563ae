#!/usr/bin/env python3
"""Benchmark the claim-check codec against MinIO; prints one JSON object on stdout.

Every figure is measured in this one process against one MinIO, so compare the ratios:

1. batches, 10 x 1 MiB and 100 x 200 KiB, encoded then decoded through a ``DataConverter``:
   ``ClaimCheckCodec`` vs the SDK's own ``S3StorageDriver`` through ``ExternalStorage`` (and, for
   10 x 1 MiB, a recipe-style codec: a new S3 client per call, bucket HEAD every time, one payload
   at a time). Targets: >= 1.3x faster than the SDK's driver, >= 8x faster than the recipe.
2. single: one 10 MiB payload round trip vs raw aioboto3 ``put_object`` + ``get_object`` of the
   same size on a warm client with default settings. Target: <= 1.1x the raw time.
3. inline: payloads under the threshold make zero store calls, and cost <= 3 us each (encode +
   decode of 1 KiB payloads, four per batch), next to the SDK's ``ExternalStorage``.

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
from temporalio.common import RawValue
from temporalio.contrib.aws.s3driver import S3StorageDriver
from temporalio.contrib.aws.s3driver.aioboto3 import new_aioboto3_client
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    PayloadCodec,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)

from rag_claimcheck.claimcheck import ClaimCheckCodec
from rag_claimcheck.servers.minio import MinioServer
from rag_claimcheck.storage.s3 import S3BlobStore

MIB = 1024 * 1024
BUCKET = "bench"
THRESHOLD = 128 * 1024
"""The kit's default inline threshold, used by both sides."""
CONTEXT = WorkflowSerializationContext(namespace="default", workflow_id="bench")
SDK_TARGET = 1.3
SINGLE_TARGET = 1.1
INLINE_TARGET_US = 3.0


class _NeverCalledDriver(StorageDriver):
    """A driver for measuring ``ExternalStorage`` on payloads it never offloads."""

    def name(self) -> str:
        return "never"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        raise AssertionError("an under-threshold payload reached the driver")

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        raise AssertionError("an under-threshold payload reached the driver")


class RecipeStyleCodec(PayloadCodec):
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


def med(values: list[float]) -> float:
    return round(statistics.median(values), 4)


class RoundTrip:
    """Encode then decode a batch of payloads through one data converter."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter.with_context(CONTEXT)

    async def __call__(self, payloads: list[Payload]) -> list[Payload]:
        encoded = await self.converter.encode([RawValue(p) for p in payloads])
        decoded = await self.converter.decode(encoded, [RawValue] * len(encoded))
        return [v.payload for v in decoded]


async def compare_batches(
    sides: dict[str, RoundTrip], count: int, size: int, repeats: int
) -> dict[str, list[float]]:
    """Seconds per round trip of ``count`` fresh payloads of ``size`` bytes, per side."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(repeats):
        log(f"batch {count} x {size // 1024} KiB, repeat {r + 1}/{repeats}")
        # Rotate the order so no side always runs first (or on a warmer machine).
        for name in names[r % len(names) :] + names[: r % len(names)]:
            payloads = fresh_payloads(count, size)
            got: list[Payload] = []

            async def run(
                side: RoundTrip = sides[name], payloads: list[Payload] = payloads, got: list[Payload] = got
            ) -> None:
                got.extend(await side(payloads))

            times[name].append(await timed(run))
            assert got == payloads, name
    return times


def inline_cost_us(codec: ClaimCheckCodec, storage: ExternalStorage, rounds: int) -> dict[str, float]:
    """Microseconds per under-threshold payload, encode + decode, at the codec / storage layer."""
    batch = fresh_payloads(4, 1024)  # a typical activation: a few small arguments

    async def ours() -> None:
        for _ in range(rounds):
            await codec.decode(await codec.encode(batch))

    async def sdk() -> None:
        for _ in range(rounds):
            await storage._retrieve_payload_sequence(await storage._store_payload_sequence(batch))

    out = {}
    for name, fn in (("claim_check_codec", ours), ("sdk_external_storage", sdk)):
        best = min(asyncio.run(timed(fn)) for _ in range(3))
        out[name] = round(best / (rounds * len(batch)) * 1e6, 2)
    return out


async def main(repeats: int) -> dict[str, object]:
    minio = await MinioServer.start()
    session = aioboto3.Session(
        aws_access_key_id=minio.access_key, aws_secret_access_key=minio.secret_key, region_name="us-east-1"
    )
    try:
        store = CountingS3Store(
            bucket=BUCKET,
            endpoint_url=minio.endpoint_url,
            access_key_id=minio.access_key,
            secret_access_key=minio.secret_key,
        )
        await store.put(key="warmup", data=b"x")  # opens the long-lived client and the bucket
        codec = ClaimCheckCodec(store, inline_max_bytes=THRESHOLD)
        async with session.client("s3", endpoint_url=minio.endpoint_url) as raw:  # default settings
            await raw.put_object(Bucket=BUCKET, Key="raw-warmup", Body=b"x")
            sdk_storage = ExternalStorage(
                drivers=[S3StorageDriver(new_aioboto3_client(raw), BUCKET)], payload_size_threshold=THRESHOLD
            )
            sides = {
                "claim_check_codec": RoundTrip(DataConverter(payload_codec=codec)),
                "sdk_s3_storage_driver": RoundTrip(DataConverter(external_storage=sdk_storage)),
            }
            batch_1mib = await compare_batches(
                {
                    **sides,
                    "recipe_style_codec": RoundTrip(DataConverter(payload_codec=RecipeStyleCodec(minio))),
                },
                10,
                MIB,
                repeats,
            )
            batch_200kib = await compare_batches(sides, 100, 200 * 1024, repeats)

            ours_single, raw_single = [], []
            for r in range(repeats):
                log(f"single 10 MiB round trip, repeat {r + 1}/{repeats}")
                [payload] = fresh_payloads(1, 10 * MIB)
                data = os.urandom(10 * MIB)
                got: dict[str, object] = {}

                async def ours_one(payload: Payload = payload, got: dict = got) -> None:
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
        small = fresh_payloads(100, 64 * 1024)
        assert await codec.decode(await codec.encode(small)) == small
        inline_calls = store.calls
        await store.close()
    finally:
        await minio.stop()
    return {
        "repeats": repeats,
        "batch_10x1MiB": batch_summary(batch_1mib, recipe_target=8.0),
        "batch_100x200KiB": batch_summary(batch_200kib),
        "single_10MiB_round_trip": {
            "claim_check_codec_s": med(ours_single),
            "raw_aioboto3_default_client_s": med(raw_single),
            "ratio": round(statistics.median(ours_single) / statistics.median(raw_single), 3),
            "target_ratio_max": SINGLE_TARGET,
            "meets_target": statistics.median(ours_single) / statistics.median(raw_single) <= SINGLE_TARGET,
        },
        "inline_100x64KiB": {"store_calls": inline_calls, "target": 0, "meets_target": inline_calls == 0},
    }


def batch_summary(times: dict[str, list[float]], *, recipe_target: float | None = None) -> dict[str, object]:
    ours = statistics.median(times["claim_check_codec"])
    sdk = statistics.median(times["sdk_s3_storage_driver"])
    out: dict[str, object] = {f"{name}_s": med(values) for name, values in times.items()}
    out["speedup_vs_sdk_s3_storage_driver"] = round(sdk / ours, 2)
    out["target_speedup_vs_sdk"] = SDK_TARGET
    out["meets_sdk_target"] = sdk / ours >= SDK_TARGET
    if recipe_target is not None:
        recipe = statistics.median(times["recipe_style_codec"])
        out["speedup_vs_recipe_style_codec"] = round(recipe / ours, 2)
        out["meets_recipe_target"] = recipe / ours >= recipe_target
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmark ClaimCheckCodec against MinIO (JSON on stdout).")
    parser.add_argument(
        "--repeats", type=int, default=5, help="repetitions per measurement (median is reported)"
    )
    parser.add_argument(
        "--inline-rounds", type=int, default=2000, help="batches of 4 small payloads for the inline cost"
    )
    args = parser.parse_args()
    if args.repeats < 1 or args.inline_rounds < 1:
        parser.error("--repeats and --inline-rounds must be at least 1")
    result = asyncio.run(main(args.repeats))
    codec = ClaimCheckCodec(
        CountingS3Store(bucket=BUCKET, endpoint_url="http://127.0.0.1:1"), inline_max_bytes=THRESHOLD
    )
    storage = ExternalStorage(drivers=[_NeverCalledDriver()], payload_size_threshold=THRESHOLD)
    cost = inline_cost_us(codec.with_context(CONTEXT), storage, args.inline_rounds)
    result["inline_cost_us_per_1KiB_payload"] = {
        **cost,
        "target_us_max": INLINE_TARGET_US,
        "meets_target": cost["claim_check_codec"] <= INLINE_TARGET_US,
    }
    print(json.dumps(result, indent=2))
