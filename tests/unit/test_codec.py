"""ClaimCheckCodec: what stays inline, what is stored, and how bad blobs fail."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, WorkflowSerializationContext

from rag_claimcheck.claimcheck import (
    ClaimCheckCodec,
    ClaimCheckDecompressionLimitExceeded,
    ClaimCheckIntegrityError,
    ClaimCheckPayloadMissing,
    ClaimCheckReferenceInvalid,
    ClaimCheckStoreUnavailable,
    workflow_prefix,
)
from rag_claimcheck.claimcheck.offload import OFFLOAD_METADATA_KEY, offloaded
from rag_claimcheck.claimcheck.reference import REFERENCE_ENCODING, ClaimCheckReference
from rag_claimcheck.storage import MemoryBlobStore
from tests.unit.fakes import SlowStore, UnreachableStore

WF = WorkflowSerializationContext(namespace="default", workflow_id="wf-1")


def payload_of(size: int, fill: bytes = b"x") -> Payload:
    return Payload(metadata={"encoding": b"binary/plain"}, data=(fill * size)[:size])


def scoped(codec: ClaimCheckCodec, workflow_id: str = "wf-1") -> ClaimCheckCodec:
    return codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id=workflow_id))


class TestThreshold:
    async def test_payload_exactly_at_the_threshold_stays_inline(self) -> None:
        p = payload_of(1000)
        store = MemoryBlobStore()
        codec = ClaimCheckCodec(store, inline_max_bytes=p.ByteSize())
        assert await codec.encode([p]) == [p]
        assert store.total_calls == 0

    async def test_one_byte_over_the_threshold_is_stored(self) -> None:
        p = payload_of(1000)
        store = MemoryBlobStore()
        codec = ClaimCheckCodec(store, inline_max_bytes=p.ByteSize() - 1)
        [ref] = await codec.encode([p])
        assert ref.metadata["encoding"] == REFERENCE_ENCODING
        assert len(store.blobs) == 1

    async def test_a_stored_payload_is_marked_with_the_size_it_kept_out_of_history(self) -> None:
        p = payload_of(5000)
        [ref] = await scoped(ClaimCheckCodec(MemoryBlobStore(), inline_max_bytes=100)).encode([p])
        assert [e.size_bytes for e in ref.external_payloads] == [p.ByteSize()]
        [small] = await ClaimCheckCodec(MemoryBlobStore()).encode([payload_of(10)])
        assert list(small.external_payloads) == []

    async def test_a_payload_marked_for_offload_is_stored_however_small(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store, inline_max_bytes=1024))
        marked = offloaded(DataConverter.default.payload_converter, {"chunk_starts": [0, 10]}).payload
        [ref] = await codec.encode([marked])
        assert ref.metadata["encoding"] == REFERENCE_ENCODING
        assert list(store.blobs.values()) == [b'{"chunk_starts":[0,10]}']
        assert await codec.decode([ref]) == [marked]
        assert ClaimCheckReference.from_payload(ref).metadata[OFFLOAD_METADATA_KEY] == "YWx3YXlz"  # b"always"

    async def test_threshold_counts_metadata_not_only_data(self) -> None:
        p = Payload(metadata={"encoding": b"binary/plain", "note": b"m" * 500}, data=b"d" * 100)
        codec = ClaimCheckCodec(MemoryBlobStore(), inline_max_bytes=len(p.data) + 10)
        [ref] = await codec.encode([p])
        assert ref.metadata["encoding"] == REFERENCE_ENCODING

    async def test_small_payloads_make_zero_store_calls(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store, inline_max_bytes=1024))
        encoded = await codec.encode([payload_of(n) for n in (0, 10, 500, 990)])
        await codec.decode(encoded)
        assert store.total_calls == 0
        assert codec.stats.inline == 4


class TestRoundTripAndKeys:
    async def test_round_trip_restores_the_exact_payload(self) -> None:
        p = payload_of(300_000, b"abc")
        codec = scoped(ClaimCheckCodec(MemoryBlobStore()))
        [ref] = await codec.encode([p])
        assert ref.ByteSize() < 600
        assert await codec.decode([ref]) == [p]

    async def test_reference_records_key_store_size_sha256_and_metadata(self) -> None:
        p = payload_of(200_000)
        codec = scoped(ClaimCheckCodec(MemoryBlobStore()))
        [ref] = await codec.encode([p])
        body = json.loads(ref.data)
        assert body["store"] == "memory"
        assert body["size"] == body["stored_size"] == 200_000
        assert body["sha256"] == hashlib.sha256(p.data).hexdigest()
        assert body["key"] == f"claim-check/ns/default/wf/wf-1/sha256/{body['sha256']}"
        assert body["metadata"] == {"encoding": base64.b64encode(b"binary/plain").decode()}
        assert body["encoding"] == "binary/plain"
        assert body["claim_check"] == (
            "a reference: the payload is in the blob store; decode with the rag-claimcheck codec server"
        )

    async def test_the_stored_object_is_the_payload_data_itself(self) -> None:
        store = MemoryBlobStore()
        p = Payload(metadata={"encoding": b"json/plain"}, data=b'{"text": "' + b"a" * 200_000 + b'"}')
        await scoped(ClaimCheckCodec(store)).encode([p])
        assert list(store.blobs.values()) == [p.data]

    async def test_keys_share_the_workflow_prefix(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store), "order/42 ..")
        await codec.encode([payload_of(200_000, b"a"), payload_of(200_000, b"b")])
        prefix = workflow_prefix(namespace="default", workflow_id="order/42 ..")
        assert prefix == "claim-check/ns/default/wf/order%2F42%20%2E%2E/"
        assert [b.key.startswith(prefix) for b in await store.list(prefix="")] == [True, True]

    async def test_a_very_long_workflow_id_still_gives_a_valid_key_under_one_prefix(self) -> None:
        store = MemoryBlobStore()
        long_id = "order:" + "a.b/" * 300  # percent-encoding would make it ~3,600 bytes
        codec = scoped(ClaimCheckCodec(store), long_id)
        [ref] = await codec.encode([payload_of(200_000)])
        assert await codec.decode([ref]) == [payload_of(200_000)]
        prefix = workflow_prefix(namespace="default", workflow_id=long_id)
        assert prefix.startswith("claim-check/ns/default/wf/h-") and len(prefix) < 400
        assert [b.key.startswith(prefix) for b in await store.list(prefix="")] == [True]

    async def test_without_context_blobs_go_to_the_shared_prefix(self) -> None:
        store = MemoryBlobStore()
        await ClaimCheckCodec(store).encode([payload_of(200_000)])
        [blob] = await store.list(prefix="")
        assert blob.key.startswith("claim-check/shared/sha256/")


class TestDedup:
    async def test_same_bytes_twice_upload_once(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store))
        first = await codec.encode([payload_of(200_000)])
        second = await codec.encode([payload_of(200_000)])
        assert first == second
        assert store.calls["put"] == 1
        assert codec.stats.deduplicated == 1

    async def test_a_second_codec_finds_the_blob_in_the_store_and_skips_the_upload(self) -> None:
        store = MemoryBlobStore()
        await scoped(ClaimCheckCodec(store)).encode([payload_of(200_000)])
        await scoped(ClaimCheckCodec(store)).encode([payload_of(200_000)])
        assert store.calls["put"] == 1

    async def test_bytes_deleted_by_a_cleanup_are_uploaded_again_not_referenced_blindly(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store))
        await codec.encode([payload_of(200_000)])
        await store.delete_prefix(prefix=workflow_prefix(namespace="default", workflow_id="wf-1"))
        [ref] = await codec.encode([payload_of(200_000)])
        assert await codec.decode([ref]) == [payload_of(200_000)]
        assert store.calls["put"] == 2

    async def test_same_bytes_in_two_workflows_are_stored_per_workflow(self) -> None:
        store = MemoryBlobStore()
        codec = ClaimCheckCodec(store)
        await scoped(codec, "wf-a").encode([payload_of(200_000)])
        await scoped(codec, "wf-b").encode([payload_of(200_000)])
        assert len(store.blobs) == 2


class TestBadBlobs:
    async def test_tampered_blob_fails_with_integrity_error_naming_key_and_workflow(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store))
        [ref] = await codec.encode([payload_of(200_000)])
        key = json.loads(ref.data)["key"]
        store.blobs[key] = store.blobs[key][:-1] + b"!"
        with pytest.raises(ClaimCheckIntegrityError) as info:
            await codec.decode([ref])
        assert info.value.type == "ClaimCheckIntegrityError"
        assert info.value.non_retryable
        assert f"[key={key}, workflow_id=wf-1]" in str(info.value)
        assert "expected sha256:" in str(info.value) and ", got sha256:" in str(info.value)

    async def test_truncated_blob_fails_with_integrity_error(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store))
        [ref] = await codec.encode([payload_of(200_000)])
        key = json.loads(ref.data)["key"]
        store.blobs[key] = store.blobs[key][:1000]
        with pytest.raises(ClaimCheckIntegrityError, match="expected 2000"):
            await codec.decode([ref])

    async def test_missing_blob_fails_with_non_retryable_payload_missing(self) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store))
        [ref] = await codec.encode([payload_of(200_000)])
        store.blobs.clear()
        with pytest.raises(ClaimCheckPayloadMissing) as info:
            await codec.decode([ref])
        assert info.value.type == "ClaimCheckPayloadMissing"
        assert info.value.non_retryable
        assert "workflow_id=wf-1" in str(info.value) and "is not in memory" in str(info.value)

    async def test_malformed_reference_is_named(self) -> None:
        bad = Payload(metadata={"encoding": REFERENCE_ENCODING}, data=b"{not json")
        with pytest.raises(ClaimCheckReferenceInvalid):
            await ClaimCheckCodec(MemoryBlobStore()).decode([bad])

    async def test_unreachable_store_is_retryable(self) -> None:
        codec = scoped(ClaimCheckCodec(UnreachableStore()))
        with pytest.raises(ClaimCheckStoreUnavailable) as info:
            await codec.encode([payload_of(200_000)])
        assert info.value.type == "ClaimCheckStoreUnavailable"
        assert not info.value.non_retryable
        assert "s3://unreachable" in str(info.value)


class TestCompression:
    @pytest.mark.parametrize("method", ["zstd", "gzip"])
    async def test_compressed_round_trip(self, method: str) -> None:
        store = MemoryBlobStore()
        codec = scoped(ClaimCheckCodec(store, compression=method))  # type: ignore[arg-type] # parametrized literal
        p = payload_of(500_000, b"compressible ")
        [ref] = await codec.encode([p])
        body = json.loads(ref.data)
        assert body["compression"] == method
        assert body["stored_size"] < body["size"] // 10
        assert await codec.decode([ref]) == [p]

    async def test_incompressible_data_is_stored_uncompressed(self) -> None:
        p = Payload(metadata={"encoding": b"binary/plain"}, data=os.urandom(200_000))
        codec = scoped(ClaimCheckCodec(MemoryBlobStore(), compression="zstd"))
        [ref] = await codec.encode([p])
        assert json.loads(ref.data)["compression"] == "none"
        assert await codec.decode([ref]) == [p]

    @pytest.mark.parametrize("method", ["zstd", "gzip"])
    async def test_decompression_cap_stops_a_blob_that_expands_too_far(self, method: str) -> None:
        store = MemoryBlobStore()
        writer = scoped(ClaimCheckCodec(store, compression=method))  # type: ignore[arg-type] # parametrized literal
        [ref] = await writer.encode([payload_of(1_000_000)])
        reader = scoped(ClaimCheckCodec(store, max_decompressed_bytes=100_000))
        with pytest.raises(ClaimCheckDecompressionLimitExceeded, match="cap of 100000 bytes") as info:
            await reader.decode([ref])
        assert info.value.non_retryable


class TestConcurrency:
    async def test_a_batch_is_stored_concurrently_within_the_bound(self) -> None:
        store = SlowStore()
        codec = scoped(ClaimCheckCodec(store, concurrency=4))
        payloads = [payload_of(200_000, bytes([i])) for i in range(12)]
        refs = await codec.encode(payloads)
        assert store.max_in_flight == 4
        store.max_in_flight = 0
        assert await codec.decode(refs) == payloads
        assert store.max_in_flight == 4


class TestRecipeCompatibility:
    async def test_recipe_v1_reference_is_decoded(self) -> None:
        store = MemoryBlobStore()
        original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"text": "' + b"a" * 50_000 + b'"}')
        key = str(uuid.uuid4())
        store.blobs[key] = original.SerializeToString()
        recipe_ref = Payload(
            metadata={"encoding": b"claim-checked", "temporal.io/claim-check-codec": b"v1"},
            data=key.encode(),
        )
        assert await ClaimCheckCodec(store).decode([recipe_ref]) == [original]

    async def test_recipe_reference_with_a_traversal_key_is_refused(self) -> None:
        recipe_ref = Payload(
            metadata={"encoding": b"claim-checked", "temporal.io/claim-check-codec": b"v1"},
            data=b"../../etc/passwd",
        )
        with pytest.raises(ClaimCheckReferenceInvalid):
            await ClaimCheckCodec(MemoryBlobStore()).decode([recipe_ref])

    async def test_plain_payloads_pass_through_decode(self) -> None:
        p = payload_of(10)
        assert await ClaimCheckCodec(MemoryBlobStore()).decode([p]) == [p]


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="inline_max_bytes"):
        ClaimCheckCodec(MemoryBlobStore(), inline_max_bytes=-1)
    with pytest.raises(ValueError, match="concurrency"):
        ClaimCheckCodec(MemoryBlobStore(), concurrency=0)
    with pytest.raises(ValueError, match="compression"):
        ClaimCheckCodec(MemoryBlobStore(), compression="lz4")  # type: ignore[arg-type] # testing bad input
