"""ClaimCheckPlugin adds claim check to a client's converter without dropping what was there."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import ClientConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    StorageDriverSelectContext,
    WorkflowSerializationContext,
)

from rag_claimcheck.claimcheck import ChainedCodec, ClaimCheckCodec, ClaimCheckStorageDriver
from rag_claimcheck.claimcheck.offload import offloaded
from rag_claimcheck.claimcheck.plugin import ClaimCheckPlugin
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings, SettingsError
from rag_claimcheck.storage import MemoryBlobStore


class XorCodec(PayloadCodec):
    """Stands in for an encryption codec: reversible, and the output is not the input."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/xor"}, data=p.SerializeToString()[::-1]) for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            assert p.metadata["encoding"] == b"binary/xor", "XorCodec got a payload it did not encode"
            inner = Payload()
            inner.ParseFromString(p.data[::-1])
            out.append(inner)
        return out


def configured(plugin: ClaimCheckPlugin, converter: DataConverter | None) -> DataConverter:
    config = ClientConfig()  # type: ignore[typeddict-item] # a partial config is all configure_client reads
    if converter is not None:
        config["data_converter"] = converter
    return plugin.configure_client(config)["data_converter"]


async def test_codec_mode_chains_after_an_existing_codec_and_the_store_sees_only_its_output() -> None:
    store = MemoryBlobStore()
    plugin = ClaimCheckPlugin(mode="codec", store=store)
    converter = configured(plugin, DataConverter(payload_codec=XorCodec()))
    assert isinstance(converter.payload_codec, ChainedCodec)
    assert [type(c) for c in converter.payload_codec.codecs] == [XorCodec, ClaimCheckCodec]

    scoped = converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id="wf"))
    secret = "top secret " * 20_000
    [encoded] = await scoped.encode([secret])
    [blob] = store.blobs.values()
    assert b"top secret" not in blob
    assert await scoped.decode([encoded], [str]) == [secret]


async def test_codec_mode_keeps_a_custom_payload_converter() -> None:
    plugin = ClaimCheckPlugin(mode="codec", store=MemoryBlobStore())
    converter = configured(plugin, pydantic_data_converter)
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class
    assert isinstance(converter.payload_codec, ClaimCheckCodec)


def test_extstore_mode_adds_sdk_external_storage_with_our_driver_and_the_codecs_line() -> None:
    at_limit = Payload(metadata={"encoding": b"binary/plain"}, data=b"x" * 1000)
    plugin = ClaimCheckPlugin(
        mode="extstore",
        store=MemoryBlobStore(),
        settings=ClaimCheckSettings(inline_max_bytes=at_limit.ByteSize()),
    )
    converter = configured(plugin, DataConverter(payload_codec=XorCodec()))
    assert isinstance(converter.payload_codec, XorCodec)
    storage = converter.external_storage
    assert storage is not None and storage.driver_selector is not None
    [driver] = storage.drivers
    assert isinstance(driver, ClaimCheckStorageDriver)
    # Like the codec: over the inline limit, or marked to be stored whatever its size.
    over = Payload(metadata={"encoding": b"binary/plain"}, data=b"x" * 1001)
    marked = offloaded(DataConverter.default.payload_converter, [1, 2, 3]).payload
    context = StorageDriverSelectContext(target=None)
    assert storage.driver_selector(context, at_limit) is None
    assert storage.driver_selector(context, over) is driver
    assert storage.driver_selector(context, marked) is driver


def test_both_modes_apply_the_decompression_cap_from_the_settings() -> None:
    settings = ClaimCheckSettings(max_decompressed_bytes=1234)
    plugin = ClaimCheckPlugin(store=MemoryBlobStore(), settings=settings)
    assert plugin.codec.vault.max_decompressed_bytes == plugin.driver.vault.max_decompressed_bytes == 1234


def test_extstore_mode_refuses_to_replace_existing_external_storage() -> None:
    plugin = ClaimCheckPlugin(mode="extstore", store=MemoryBlobStore())
    first = configured(plugin, None)
    with pytest.raises(ValueError, match="external_storage already configured"):
        configured(ClaimCheckPlugin(mode="extstore", store=MemoryBlobStore()), first)


def test_off_mode_leaves_the_converter_untouched() -> None:
    original = dataclasses.replace(DataConverter.default, payload_codec=XorCodec())
    assert configured(ClaimCheckPlugin(mode="off", store=MemoryBlobStore()), original) is original


def test_settings_come_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIM_CHECK_MODE", "extstore")
    monkeypatch.setenv("CLAIM_CHECK_INLINE_MAX_BYTES", "65_536")
    monkeypatch.setenv("CLAIM_CHECK_STORE", "memory")
    plugin = ClaimCheckPlugin()
    assert plugin.mode == "extstore"
    assert plugin.settings.inline_max_bytes == 65536
    assert isinstance(plugin.store, MemoryBlobStore)
    assert ClaimCheckPlugin(mode="off").mode == "off"  # an argument beats the environment


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CLAIM_CHECK_MODE": "sometimes"},
            "CLAIM_CHECK_MODE must be one of codec, extstore, off; got 'sometimes'",
        ),
        ({"CLAIM_CHECK_STORE": "ftp"}, "CLAIM_CHECK_STORE must be one of file, s3, memory"),
        (
            {"CLAIM_CHECK_INLINE_MAX_BYTES": "lots"},
            "CLAIM_CHECK_INLINE_MAX_BYTES must be a whole number of bytes",
        ),
        ({"CLAIM_CHECK_INLINE_MAX_BYTES": "-5"}, "CLAIM_CHECK_INLINE_MAX_BYTES must be >= 0"),
        ({"CLAIM_CHECK_CONCURRENCY": "0"}, "CLAIM_CHECK_CONCURRENCY must be >= 1"),
        ({"CLAIM_CHECK_COMPRESSION": "rar"}, "CLAIM_CHECK_COMPRESSION must be one of none, zstd, gzip"),
    ],
)
def test_nonsense_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        ClaimCheckSettings.from_env(env)
    assert message in str(info.value)
