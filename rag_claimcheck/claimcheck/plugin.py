"""``ClaimCheckPlugin``: turn claim check on for a client and its workers in one line.

    client = await Client.connect("localhost:7233", plugins=[ClaimCheckPlugin()])

The plugin keeps the client's data converter (a pydantic payload converter, an encryption
codec, a failure converter) and adds claim check to it:

* ``codec``: the existing codec, if any, runs first and :class:`ClaimCheckCodec` second, so the
  store only ever sees what the existing codec produced (e.g. ciphertext);
* ``extstore``: the SDK's ``ExternalStorage`` with :class:`ClaimCheckStorageDriver`;
* ``off``: the converter is left exactly as it was.
"""

from __future__ import annotations

import dataclasses

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriver,
    StorageDriverSelectContext,
)
from temporalio.plugin import SimplePlugin

from rag_claimcheck.claimcheck.chain import ChainedCodec
from rag_claimcheck.claimcheck.codec import ClaimCheckCodec
from rag_claimcheck.claimcheck.driver import ClaimCheckStorageDriver
from rag_claimcheck.claimcheck.offload import is_marked_for_offload
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings, Mode
from rag_claimcheck.claimcheck.stores import open_store
from rag_claimcheck.claimcheck.vault import VaultStats
from rag_claimcheck.storage.base import BlobStore

PLUGIN_NAME = "rag-claimcheck.ClaimCheckPlugin"


class ClaimCheckPlugin(SimplePlugin):
    """A client and worker plugin that adds claim check to the data converter.

    Args:
        mode: ``codec``, ``extstore`` or ``off``; default ``CLAIM_CHECK_MODE`` or ``codec``.
        store: The blob store; default built from the settings (``CLAIM_CHECK_STORE``).
        settings: All other knobs; default read from ``CLAIM_CHECK_*`` environment variables.
    """

    def __init__(
        self,
        *,
        mode: Mode | None = None,
        store: BlobStore | None = None,
        settings: ClaimCheckSettings | None = None,
    ) -> None:
        self.settings = ClaimCheckSettings.from_env(mode=mode) if settings is None else settings
        if mode is not None and mode != self.settings.mode:
            self.settings = dataclasses.replace(self.settings, mode=mode)
        self.store = store if store is not None else open_store(self.settings)
        s = self.settings
        self.codec = ClaimCheckCodec.from_settings(self.store, s)
        self.driver = ClaimCheckStorageDriver(
            self.store,
            compression=s.compression,
            key_prefix=s.key_prefix,
            concurrency=s.concurrency,
            max_decompressed_bytes=s.max_decompressed_bytes,
        )
        super().__init__(PLUGIN_NAME, data_converter=self.configure_data_converter)

    @property
    def mode(self) -> Mode:
        """The claim-check mode this plugin applies."""
        return self.settings.mode

    @property
    def stats(self) -> VaultStats:
        """What the active mode stored and fetched so far."""
        return self.driver.stats if self.mode == "extstore" else self.codec.stats

    def configure_data_converter(self, existing: DataConverter | None) -> DataConverter:
        """Return ``existing`` (or the default converter) with claim check added for the mode."""
        base = existing if existing is not None else DataConverter.default
        if self.mode == "off":
            return base
        if self.mode == "codec":
            codec = (
                self.codec if base.payload_codec is None else ChainedCodec([base.payload_codec, self.codec])
            )
            return dataclasses.replace(base, payload_codec=codec)
        if base.external_storage is not None:
            raise ValueError(
                "ClaimCheckPlugin(mode='extstore') found external_storage already configured on the "
                "data converter; remove it or use mode='codec'"
            )
        # The codec offloads payloads above its inline limit and those marked to be stored
        # whatever their size; the selector draws the same line (the SDK asks it about every
        # payload of at least the threshold, so the threshold is 0).
        inline_max = self.settings.inline_max_bytes

        def select(_: StorageDriverSelectContext, payload: Payload) -> StorageDriver | None:
            if payload.ByteSize() > inline_max or is_marked_for_offload(payload):
                return self.driver
            return None

        storage = ExternalStorage(drivers=[self.driver], driver_selector=select, payload_size_threshold=0)
        return dataclasses.replace(base, external_storage=storage)


def plugin_of(client: Client) -> ClaimCheckPlugin | None:
    """The :class:`ClaimCheckPlugin` ``client`` was connected with, if any."""
    return next((p for p in client.config().get("plugins", []) if isinstance(p, ClaimCheckPlugin)), None)
