"""Large documents by reference: streamed into the store, read back verified, one copy of the text.

The stores here are the real memory and filesystem stores; S3 is covered on MinIO in
``tests/integration/test_large_documents.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from rag_claimcheck.claimcheck.errors import ClaimCheckIntegrityError, ClaimCheckPayloadMissing
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.rag import documents
from rag_claimcheck.rag.documents import (
    DOCUMENT_CONTENT_TYPE,
    MAX_DOCUMENT_BYTES,
    DocumentTooLarge,
    check_file,
    load_offsets,
    load_text,
    save_offsets,
    store_document,
    store_file,
)
from rag_claimcheck.rag.ingest import chunk_document, ingest, utf8_digest
from rag_claimcheck.rag.models import DocumentRef, SourceDocument
from rag_claimcheck.storage import BlobStore, FileBlobStore, MemoryBlobStore
from rag_claimcheck.storage.base import STREAM_CHUNK_BYTES
from tests.unit.fakes import SlowStore

WF = {"namespace": "default", "workflow_id": "wf-doc"}


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return MemoryBlobStore() if request.param == "memory" else FileBlobStore(tmp_path / "blobs")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


class TestStreamingStores:
    async def test_a_file_goes_in_streamed_and_comes_back_in_pieces(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = bytes(range(256)) * (STREAM_CHUNK_BYTES // 256 + 7)  # over one piece
        sent: list[int] = []
        await store.put_file(key="a/doc", path=write(tmp_path / "doc", data), progress=sent.append)
        pieces = [piece async for piece in store.iter_chunks(key="a/doc")]
        assert b"".join(pieces) == data
        assert sum(sent) == len(data)
        if isinstance(store, FileBlobStore):
            assert [len(p) for p in pieces] == [STREAM_CHUNK_BYTES, len(data) - STREAM_CHUNK_BYTES]

    async def test_streaming_a_missing_key_raises_blob_not_found(self, store: BlobStore) -> None:
        from rag_claimcheck.storage import BlobNotFoundError

        with pytest.raises(BlobNotFoundError, match="key=nope"):
            [piece async for piece in store.iter_chunks(key="nope")]


class TestRawReferences:
    async def test_bytes_round_trip_verified_and_scoped_to_the_workflow(self, store: BlobStore) -> None:
        refs = RefStore(store)
        ref = await refs.save_bytes(b"hello world", content_type="text/plain", **WF)
        assert (
            ref.key == f"claim-check/ns/default/wf/wf-doc/sha256/{hashlib.sha256(b'hello world').hexdigest()}"
        )
        assert (ref.size, ref.stored_size, ref.compression) == (11, 11, "none")
        assert await store.get(key=ref.key) == b"hello world"  # the object is the bytes themselves
        assert await refs.load_bytes(ref) == bytearray(b"hello world")

    async def test_a_file_already_stored_is_not_sent_again(self, tmp_path: Path) -> None:
        store = MemoryBlobStore()
        refs = RefStore(store)
        path = write(tmp_path / "doc.md", b"# same bytes\n" * 1000)
        checked = check_file(path)
        first = await store_file(refs, checked, mime_type="text/markdown", **WF)
        second = await store_file(refs, checked, mime_type="text/markdown", **WF)
        assert first == second
        assert store.calls["put"] == 1
        assert refs.stats.deduplicated == 1

    @pytest.mark.parametrize(
        ("damage", "message"),
        [
            (lambda b: b[:-1], "expected 4096 bytes, got 4095 (truncated)"),
            (lambda b: b + b"x", "expected 4096 bytes, the blob is longer"),
            (lambda b: b"X" + b[1:], "expected sha256:"),
        ],
        ids=["truncated", "longer", "corrupt"],
    )
    async def test_a_damaged_blob_is_a_named_non_retryable_integrity_error(
        self, store: BlobStore, damage: object, message: str
    ) -> None:
        refs = RefStore(store)
        ref = await refs.save_bytes(b"a" * 4096, content_type="text/plain", **WF)
        await store.put(key=ref.key, data=damage(await store.get(key=ref.key)))  # type: ignore[operator] # a lambda
        with pytest.raises(ClaimCheckIntegrityError) as caught:
            await refs.load_bytes(ref)
        assert message in caught.value.message
        assert f"key={ref.key}" in caught.value.message
        assert caught.value.non_retryable and caught.value.type == "ClaimCheckIntegrityError"

    async def test_a_deleted_blob_is_payload_missing_naming_the_key(self, store: BlobStore) -> None:
        refs = RefStore(store)
        ref = await refs.save_bytes(b"gone soon", content_type="text/plain", **WF)
        await store.delete(key=ref.key)
        with pytest.raises(ClaimCheckPayloadMissing, match=f"key={ref.key}") as caught:
            await refs.load_bytes(ref)
        assert caught.value.non_retryable


class TestWorkersRacingToStoreTheSameBytes:
    """An activity retried on a second worker while the first resumes: both store the same bytes.

    Exactly one upload is counted and the other is a dedup hit, so the workers' counters add up
    to the blobs in the store.
    """

    WORKERS = 4

    @pytest.fixture(params=["memory", "file"])
    def shared(self, request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
        # The memory store's put waits here, as a remote store's does, so the workers overlap.
        return SlowStore(delay=0.01) if request.param == "memory" else FileBlobStore(tmp_path / "blobs")

    @pytest.mark.parametrize("source", ["bytes", "file"])
    async def test_one_worker_stores_and_the_others_count_a_dedup(
        self, shared: BlobStore, source: str, tmp_path: Path
    ) -> None:
        data = bytes(range(256)) * (16 * 1024 * 1024 // 256)  # long enough to write that workers overlap
        path = write(tmp_path / "doc", data)
        digest = hashlib.sha256(data).hexdigest()
        workers = [RefStore(shared) for _ in range(self.WORKERS)]
        if source == "bytes":
            refs = await asyncio.gather(
                *(w.save_bytes(data, content_type="text/plain", sha256_hex=digest, **WF) for w in workers)
            )
        else:
            refs = await asyncio.gather(
                *(
                    w.save_file(path, content_type="text/plain", size=len(data), sha256_hex=digest, **WF)
                    for w in workers
                )
            )
        assert len({ref.key for ref in refs}) == 1
        assert sum(w.stats.stored for w in workers) == 1
        assert sum(w.stats.deduplicated for w in workers) == self.WORKERS - 1
        assert [b.key for b in await shared.list(prefix="")] == [refs[0].key]
        assert await shared.get(key=refs[0].key) == data


class TestCheckingAFileBeforeUpload:
    def test_size_and_sha256_of_a_utf8_file(self, tmp_path: Path) -> None:
        data = "héllo wörld\n".encode() * 100_000
        checked = check_file(write(tmp_path / "doc.txt", data))
        assert (checked.size, checked.sha256) == (len(data), hashlib.sha256(data).hexdigest())

    def test_a_character_split_across_two_reads_is_fine(self, tmp_path: Path) -> None:
        data = b"a" * (STREAM_CHUNK_BYTES - 1) + "é".encode() + b"tail"
        assert check_file(write(tmp_path / "doc.txt", data)).size == len(data)

    @pytest.mark.parametrize("offset", [5, STREAM_CHUNK_BYTES - 1, STREAM_CHUNK_BYTES + 3])
    def test_a_bad_byte_is_named_with_its_offset_in_the_file(self, tmp_path: Path, offset: int) -> None:
        data = bytearray(b"a" * (STREAM_CHUNK_BYTES + 10))
        data[offset] = 0xFF
        with pytest.raises(ApplicationError) as caught:
            check_file(write(tmp_path / "latin.txt", bytes(data)))
        assert caught.value.type == "DocumentNotUtf8"
        assert f"byte 0xff at offset {offset}" in caught.value.message

    def test_a_file_that_ends_inside_a_character_is_not_utf8(self, tmp_path: Path) -> None:
        with pytest.raises(ApplicationError, match=r"byte 0xc3 at offset 3"):
            check_file(write(tmp_path / "cut.txt", b"abc\xc3"))

    def test_a_file_over_the_limit_is_refused_before_it_is_read(self, tmp_path: Path) -> None:
        huge = tmp_path / "huge.md"
        with huge.open("wb") as fh:
            fh.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: nothing is written or read
        with pytest.raises(DocumentTooLarge, match=r"huge\.md is 4,096\.0 MiB; the limit is 4,096 MiB"):
            check_file(huge)


class TestReadingAStoredDocument:
    async def test_the_text_comes_back_without_its_byte_order_mark(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        refs = RefStore(store)
        path = write(tmp_path / "bom.md", b"\xef\xbb\xbf# Title\n\nBody text.\n")
        document = await store_file(refs, check_file(path), mime_type="text/markdown", **WF)
        assert document.blob.content_type == DOCUMENT_CONTENT_TYPE
        assert await load_text(refs, document) == "# Title\n\nBody text.\n"

    async def test_stored_bytes_that_are_not_utf8_name_the_offset_in_the_file(self, store: BlobStore) -> None:
        refs = RefStore(store)
        blob = await refs.save_bytes(b"\xef\xbb\xbfok \xe9 no", content_type=DOCUMENT_CONTENT_TYPE, **WF)
        with pytest.raises(ApplicationError) as caught:
            await load_text(refs, DocumentRef(filename="x.txt", mime_type="text/plain", blob=blob))
        assert (caught.value.type, caught.value.non_retryable) == ("DocumentNotUtf8", True)
        assert "byte 0xe9 at offset 6" in caught.value.message

    async def test_a_reference_over_the_limit_is_refused_without_fetching(self) -> None:
        store = MemoryBlobStore()
        refs = RefStore(store)
        blob = await refs.save_bytes(b"small", content_type=DOCUMENT_CONTENT_TYPE, **WF)
        forged = DocumentRef(
            filename="x.txt",
            mime_type="text/plain",
            blob=type(blob)(**{**blob.__dict__, "size": MAX_DOCUMENT_BYTES + 1}),
        )
        with pytest.raises(ApplicationError, match="the limit is 4,294,967,296") as caught:
            await load_text(refs, forged)
        assert caught.value.type == "DocumentTooLarge"
        assert store.calls["get"] == 0

    async def test_a_document_from_memory_is_stored_as_its_utf8_bytes(self) -> None:
        store = MemoryBlobStore()
        refs = RefStore(store)
        source = SourceDocument(filename="n.md", mime_type="text/markdown", text="naïve text\n" * 10)
        document = await store_document(refs, source, **WF)
        assert await store.get(key=document.blob.key) == source.text.encode()
        assert await load_text(refs, document) == source.text


class TestChunkOffsetsInTheStore:
    async def test_offsets_round_trip_and_the_result_is_small(self, store: BlobStore) -> None:
        refs = RefStore(store)
        text = "A sentence about the service. " * 5000
        ingested = chunk_document("d.md", "text/markdown", text, sha256="0" * 64, byte_size=len(text))
        stored = await save_offsets(refs, ingested)
        assert (stored.chunk_starts, stored.chunk_ends) == ([], [])
        assert stored.chunk_count == ingested.chunk_count > 100
        assert stored.offsets is not None and stored.offsets.size == 16 * ingested.chunk_count
        assert await load_offsets(refs, stored) == ingested

    async def test_a_blob_of_the_wrong_size_is_an_invalid_parameter(self, store: BlobStore) -> None:
        refs = RefStore(store)
        text = "Short text. " * 300
        stored = await save_offsets(
            refs, chunk_document("d.md", "text/markdown", text, sha256="0" * 64, byte_size=len(text))
        )
        assert stored.offsets is not None
        wrong = await refs.save_bytes(
            b"\0" * 8, content_type=documents.OFFSETS_CONTENT_TYPE, count=stored.offsets.count
        )
        with pytest.raises(ApplicationError, match="does not hold") as caught:
            await load_offsets(refs, type(stored)(**{**stored.__dict__, "offsets": wrong}))
        assert caught.value.type == "InvalidParameter"


class TestIngestWithoutAWholeUtf8Copy:
    def test_the_sliced_digest_is_the_digest_of_the_whole_encoding(self) -> None:
        text = "ünïcode and ascii " * 400_000  # several slices
        assert utf8_digest("d.md", text) == (hashlib.sha256(text.encode()).hexdigest(), len(text.encode()))

    def test_a_lone_surrogate_in_a_later_slice_is_named_by_its_character_offset(self) -> None:
        from rag_claimcheck.rag.ingest import HASH_SLICE_CHARS

        at = HASH_SLICE_CHARS + 17
        text = "a" * at + "\udcff" + "b" * 10
        with pytest.raises(ApplicationError, match=f"U\\+DCFF at character offset {at} is a lone surrogate"):
            utf8_digest("bad.md", text)

    def test_ingest_of_a_document_in_memory_is_unchanged(self) -> None:
        text = "# Title\n\nFirst paragraph. It has sentences.\n\nSecond paragraph.\n"
        ingested = ingest(SourceDocument(filename="t.md", mime_type="text/markdown", text=text))
        assert ingested.sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert (ingested.byte_size, ingested.char_count, ingested.offsets) == (len(text), len(text), None)

    @pytest.mark.parametrize("text", ["", " \n\t\n "])
    def test_an_empty_text_is_empty_document(self, text: str) -> None:
        with pytest.raises(ApplicationError) as caught:
            chunk_document("e.md", "text/markdown", text, sha256="0" * 64, byte_size=len(text))
        assert caught.value.type == "EmptyDocument"


class TestActivitiesOnAStoredDocument:
    """The activities read a :class:`DocumentRef` themselves; what they hand back stays small."""

    @staticmethod
    async def stored_handbook(refs: RefStore) -> DocumentRef:
        from rag_claimcheck.data.samples import SAMPLE_DOCUMENT

        source = SourceDocument.from_bytes(
            SAMPLE_DOCUMENT.read_bytes(), filename="handbook.md", mime_type="text/markdown"
        )
        return await store_document(refs, source, namespace="default", workflow_id="test")

    async def test_ingest_stores_the_offsets_and_returns_a_few_hundred_bytes(self) -> None:
        from temporalio.converter import DataConverter
        from temporalio.testing import ActivityEnvironment

        from rag_claimcheck.claimcheck.offload import is_marked_for_offload
        from rag_claimcheck.rag.activities import RagActivities
        from rag_claimcheck.rag.answer import ExtractiveAnswerer
        from rag_claimcheck.rag.models import IngestedDocument, RetrievalQuery

        store = MemoryBlobStore()
        refs = RefStore(store)
        document = await self.stored_handbook(refs)
        worker = RagActivities(answerer=ExtractiveAnswerer(), refs=refs)
        result = await ActivityEnvironment().run(worker.ingest_document, document)
        assert result.payload.ByteSize() < 1024
        assert not is_marked_for_offload(result.payload)  # small: it stays in history
        ingested = DataConverter.default.payload_converter.from_payload(result.payload, IngestedDocument)
        assert ingested.offsets is not None and ingested.chunk_count == ingested.offsets.count > 50
        assert ingested.sha256 == document.blob.sha256

        # Another worker (no index yet) reads the document and the offsets from the store.
        other = RagActivities(answerer=ExtractiveAnswerer(), refs=refs)
        arg = RawValue(DataConverter.default.payload_converter.to_payload(document))
        query = RetrievalQuery("How much consumer lag on Shoal pages the on-call engineer?", 4)
        cold = await ActivityEnvironment().run(other.retrieve_passages, arg, ingested, query)
        warm = await ActivityEnvironment().run(worker.retrieve_passages, arg, ingested, query)
        assert cold == warm
        assert any("45,000" in p.text for p in cold.passages)

    async def test_a_worker_without_a_store_says_so_and_does_not_retry(self) -> None:
        from temporalio.testing import ActivityEnvironment

        from rag_claimcheck.rag.activities import RagActivities
        from rag_claimcheck.rag.answer import ExtractiveAnswerer

        document = await self.stored_handbook(RefStore(MemoryBlobStore()))
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                RagActivities(answerer=ExtractiveAnswerer()).ingest_document, document
            )
        assert (caught.value.type, caught.value.non_retryable) == ("DocumentStoreMissing", True)
        assert document.blob.key in caught.value.message

    async def test_an_unsupported_type_is_refused_before_the_bytes_are_fetched(self) -> None:
        from temporalio.testing import ActivityEnvironment

        from rag_claimcheck.rag.activities import RagActivities
        from rag_claimcheck.rag.answer import ExtractiveAnswerer

        store = MemoryBlobStore()
        refs = RefStore(store)
        blob = (await self.stored_handbook(refs)).blob
        gets = store.calls["get"]
        pdf = DocumentRef(filename="scan.pdf", mime_type="application/pdf", blob=blob)
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                RagActivities(answerer=ExtractiveAnswerer(), refs=refs).ingest_document, pdf
            )
        assert caught.value.type == "UnsupportedDocumentType"
        assert store.calls["get"] == gets
