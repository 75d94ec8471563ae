"""The codec server's rules without external servers: key scope, signed links, options, store outages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from rag_claimcheck.claimcheck.reference import REFERENCE_ENCODING, VERSION_METADATA_KEY
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.claimcheck.vault import PayloadVault
from rag_claimcheck.codec_server import (
    VIEW_METADATA_KEY,
    CodecServerConfigError,
    CodecServerOptions,
    KeyScope,
    start_codec_server,
)
from rag_claimcheck.codec_server.access import KeyInvalid, KeyRejected, link_is_valid, sign_link
from rag_claimcheck.codec_server.app import content_type_for
from rag_claimcheck.storage.memory import MemoryBlobStore
from tests.unit.fakes import UnreachableStore

DIGEST = "ab" * 32


def text_payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def decode(http: aiohttp.ClientSession, url: str, payloads: list[Payload]) -> list[Payload]:
    body = {"payloads": [json_format.MessageToDict(p) for p in payloads]}
    async with http.post(f"{url}/decode", json=body) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
    return [json_format.ParseDict(item, Payload()) for item in answer["payloads"]]


# --- which keys a namespace may read ----------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "key", "expected"),
    [
        ("default", f"claim-check/ns/default/wf/order-1/sha256/{DIGEST}", "kit"),
        ("team.a", f"claim-check/ns/team%2Ea/wf/order%2F1/sha256/{DIGEST}", "kit"),
        ("default", f"claim-check/shared/sha256/{DIGEST}", "kit"),
        ("default", "0b5e4cdb-05d4-4bb5-8b9a-b0c5b1f0a9d2", "recipe-v1"),
        ("default", f"claim-check/ns/payments/wf/order-1/sha256/{DIGEST}", KeyRejected),
        ("team.a", f"claim-check/ns/team.a/wf/order-1/sha256/{DIGEST}", KeyRejected),
        ("default", f"other-prefix/shared/sha256/{DIGEST}", KeyRejected),
        ("default", "claim-check/shared/sha256/ABC", KeyRejected),
        ("default", f"claim-check/shared/sha256/{DIGEST}/extra", KeyRejected),
        ("default", "backups/db.sql", KeyRejected),
        ("default", "../claim-check/shared", KeyInvalid),
        ("default", "claim-check//shared", KeyInvalid),
        ("default", "a\\b", KeyInvalid),
        ("default", "", KeyInvalid),
    ],
)
def test_a_namespace_reads_its_own_keys_shared_keys_and_recipe_uuids_only(
    namespace: str, key: str, expected: object
) -> None:
    scope = KeyScope(namespace)
    if isinstance(expected, str):
        location = scope.locate(key)
        assert location.format == expected
        assert location.sha256 == (DIGEST if expected == "kit" else None)
    else:
        with pytest.raises(expected) as info:  # type: ignore[call-overload] # an exception class
            scope.locate(key)
        assert type(info.value) is expected


def test_a_namespace_name_must_be_printable() -> None:
    with pytest.raises(KeyInvalid):
        KeyScope("bad\nname")


# --- signed blob links ------------------------------------------------------------------------


def test_a_signed_link_is_valid_until_it_expires_and_only_for_its_own_parameters() -> None:
    params = {"key": "k", "namespace": "default", "compression": "none", "encoding": "json/plain"}
    signed = {**params, "expires": "2000", "sig": sign_link("secret", params, expires=2000)}
    assert link_is_valid("secret", signed, now=1999)
    assert not link_is_valid("secret", signed, now=2001)
    assert not link_is_valid("other-secret", signed, now=1999)
    assert not link_is_valid("secret", {**signed, "key": "k2"}, now=1999)
    assert not link_is_valid("secret", {**signed, "expires": "3000"}, now=1999)
    assert not link_is_valid("secret", params, now=1999)


# --- options ----------------------------------------------------------------------------------


def test_cors_origins_are_normalized_and_loopback_origins_get_their_twin() -> None:
    options = CodecServerOptions(cors_origins=("HTTP://LocalHost:8233/", "https://ui.example.com"))
    assert options.cors_origins == (
        "http://localhost:8233",
        "http://127.0.0.1:8233",
        "https://ui.example.com",
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"cors_origins": ("localhost:8233",)},
        {"cors_origins": ("http://localhost:8233/namespaces",)},
        {"token": ""},
        {"token": "two words"},
        {"allowed_hosts": ()},
        {"display_max_bytes": 0},
        {"max_request_bytes": 10},
        {"encode": "sometimes"},
        {"public_url": "ftp://x"},
    ],
)
def test_options_that_make_no_sense_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(CodecServerConfigError):
        CodecServerOptions(**changes)


def test_options_come_from_claim_check_codec_variables() -> None:
    options = CodecServerOptions.from_env(
        {
            "CLAIM_CHECK_CODEC_TOKEN": "t0ken",
            "CLAIM_CHECK_CODEC_CORS_ORIGINS": "http://localhost:8233, https://ui.example.com",
            "CLAIM_CHECK_CODEC_ALLOWED_HOSTS": "localhost,codec.example.com",
            "CLAIM_CHECK_CODEC_DISPLAY_MAX_BYTES": "1_048_576",
            "CLAIM_CHECK_CODEC_ENCODE": "passthrough",
        }
    )
    assert options.token == "t0ken"
    assert "https://ui.example.com" in options.cors_origins
    assert options.allowed_hosts == ("localhost", "codec.example.com")
    assert options.display_max_bytes == 1024 * 1024
    assert options.encode == "passthrough"
    with pytest.raises(CodecServerConfigError, match="CLAIM_CHECK_CODEC_DISPLAY_MAX_BYTES"):
        CodecServerOptions.from_env({"CLAIM_CHECK_CODEC_DISPLAY_MAX_BYTES": "lots"})


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        ("json/plain", "application/json"),
        ("json/protobuf", "application/json"),
        ("binary/plain", "application/octet-stream"),
        ("text/html", "text/plain"),
        ("binary/encrypted", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_blobs_are_served_with_a_content_type_a_browser_will_not_run(
    encoding: str, content_type: str
) -> None:
    assert content_type_for(encoding)[0] == content_type


# --- decoding without external servers -----------------------------------------------------------


async def test_a_compressed_blob_decodes_and_its_summary_link_serves_the_decompressed_data(
    http: aiohttp.ClientSession,
) -> None:
    store = MemoryBlobStore()
    original = text_payload("compressible " * 40_000)
    ref = await PayloadVault(store, compression="zstd").put(original, namespace="default", workflow_id="w")
    assert ref.compression == "zstd" and ref.stored_size < ref.size // 10
    options = CodecServerOptions(display_max_bytes=1024)
    async with await start_codec_server(
        store=store, settings=ClaimCheckSettings(), options=options
    ) as server:
        [summary] = await decode(http, server.url, [ref.to_payload()])
        link = json.loads(summary.data)["open"]
        assert "compression=zstd" in link
        async with http.get(link) as response:
            assert await response.read() == original.data


async def test_a_malformed_reference_becomes_a_reference_invalid_summary(http: aiohttp.ClientSession) -> None:
    broken = Payload(
        metadata={"encoding": REFERENCE_ENCODING, VERSION_METADATA_KEY: b"2"}, data=b'{"key": "only a key"}'
    )
    async with await start_codec_server(store=MemoryBlobStore(), settings=ClaimCheckSettings()) as server:
        [shown] = await decode(http, server.url, [broken])
    assert shown.metadata[VIEW_METADATA_KEY] == b"error"
    assert json.loads(shown.data)["error"] == "ClaimCheckReferenceInvalid"


async def test_when_the_store_is_down_decode_summarises_and_blob_and_encode_answer_503(
    http: aiohttp.ClientSession,
) -> None:
    ref = await PayloadVault(MemoryBlobStore()).put(
        text_payload("x" * 1000), namespace="default", workflow_id="w"
    )
    settings = ClaimCheckSettings(inline_max_bytes=10)
    async with await start_codec_server(store=UnreachableStore(), settings=settings) as server:
        [shown] = await decode(http, server.url, [ref.to_payload()])
        assert json.loads(shown.data)["error"] == "ClaimCheckStoreUnavailable"
        async with http.get(f"{server.url}/blob", params={"key": ref.key}) as response:
            assert response.status == 503
        body = {"payloads": [json_format.MessageToDict(text_payload("y" * 1000))]}
        async with http.post(f"{server.url}/encode", json=body) as response:
            assert response.status == 503
            assert await response.json() == {
                "error": "ClaimCheckStoreUnavailable: the blob store is unavailable"
            }


def test_a_documents_preview_is_its_words_with_the_short_fields_kept() -> None:
    from rag_claimcheck.codec_server.resolve import PREVIEW_CHARS, preview_of

    text = "# Handbook\n\nFirst paragraph. " + "word " * 50_000
    document = {"filename": "handbook.md", "mime_type": "text/markdown", "text": text, "offsets": [1, 2]}
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(document).encode())

    preview = preview_of(payload)

    assert isinstance(preview, dict)
    assert preview["filename"] == "handbook.md" and preview["mime_type"] == "text/markdown"
    assert preview["text"].startswith("# Handbook\n\nFirst paragraph. word")
    assert preview["text"].endswith(f"({len(text) - PREVIEW_CHARS:,} more characters: open the link)")
    assert "offsets" not in preview


def test_a_binary_payload_has_no_preview() -> None:
    from rag_claimcheck.codec_server.resolve import preview_of

    assert preview_of(Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01")) is None
