"""A conversation's turns stored once each, as a chain of content-addressed blobs.

Sending the whole conversation to the answer activity on every turn stores (or writes into
history) a new copy of every earlier turn each time: quadratic growth. Here each turn is stored
once, as ``{"turn": …, "previous": "<sha256 of the previous entry>"}`` under the workflow's
prefix, and the workflow passes only a :class:`~rag_claimcheck.claimcheck.refs.DataRef` to the
newest entry. The activity walks the chain back (each entry is read from the store once per
worker process, then served from an LRU cache keyed by its digest, which never goes stale:
content-addressed blobs do not change). Store bytes grow linearly and the history holds one
small reference per turn.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from temporalio import activity
from temporalio.api.common.v1 import Payload

from rag_claimcheck.claimcheck.errors import ClaimCheckIntegrityError
from rag_claimcheck.claimcheck.keys import blob_key
from rag_claimcheck.claimcheck.refs import DataRef, RefStore
from rag_claimcheck.rag.models import Turn

DEFAULT_CACHE_ENTRIES = 10_000
"""Turn entries a worker process keeps decoded (a few hundred bytes each)."""


@dataclass(frozen=True)
class TranscriptEntry:
    """One stored turn and the digest of the entry before it (empty for the first turn)."""

    turn: Turn
    previous: str = ""


class Transcript:
    """Append turns to a conversation's chain and read the whole conversation back.

    Args:
        refs: Where entries go (uncompressed: entries are small and addressed by their digest).
        cache_entries: Bound of the per-process cache of decoded entries.
    """

    def __init__(self, refs: RefStore, *, cache_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if refs.vault.compression != "none":
            raise ValueError("a transcript's RefStore must not compress (entries are found by digest)")
        self.refs = refs
        self.cache_entries = cache_entries
        self._cache: OrderedDict[str, TranscriptEntry] = OrderedDict()

    async def append(self, head: DataRef | None, turn: Turn) -> DataRef:
        """Store ``turn`` after ``head`` (None for the first turn); returns the new head."""
        entry = TranscriptEntry(turn=turn, previous=head.sha256 if head is not None else "")
        ref = await self.refs.save(entry, count=(head.count if head is not None else 0) + 1)
        self._remember(ref.sha256, entry)
        return ref

    async def load(self, head: DataRef | None) -> list[Turn]:
        """Every turn up to and including ``head``, oldest first."""
        if head is None:
            return []
        namespace, workflow_id = _scope()
        turns: list[Turn] = []
        digest = head.sha256
        while digest:
            entry = self._cache.get(digest)
            if entry is None:
                entry = await self._fetch(digest, namespace=namespace, workflow_id=workflow_id)
                self._remember(digest, entry)
            else:
                self._cache.move_to_end(digest)
            turns.append(entry.turn)
            digest = entry.previous
        turns.reverse()
        return turns

    async def _fetch(self, digest: str, *, namespace: str | None, workflow_id: str | None) -> TranscriptEntry:
        key = blob_key(
            sha256_hex=digest,
            namespace=namespace,
            workflow_id=workflow_id,
            key_prefix=self.refs.vault.key_prefix,
        )
        data = await self.refs.vault.fetch_raw(key, workflow_id=workflow_id)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ClaimCheckIntegrityError(
                f"Transcript entry is corrupt [key={key}, workflow_id={workflow_id}]: "
                f"expected sha256:{digest}, got sha256:{actual}",
                key=key,
                workflow_id=workflow_id,
            )
        payload = Payload(metadata={"encoding": b"json/plain"}, data=data)
        [entry] = self.refs.converter.from_payloads([payload], [TranscriptEntry])
        return entry  # type: ignore[no-any-return] # from_payloads returns what the hint names

    def _remember(self, digest: str, entry: TranscriptEntry) -> None:
        self._cache[digest] = entry
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cache_entries:
            self._cache.popitem(last=False)


def _scope() -> tuple[str | None, str | None]:
    if activity.in_activity():
        info = activity.info()
        return info.workflow_namespace, info.workflow_id
    return None, None
