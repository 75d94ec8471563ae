"""Do the workers' counters add up to the objects in the bucket?

Every object the S3 store writes records its writer (``pid@host``, S3 metadata ``writer``), so
each process's ``claim_check_store_puts`` (uploads; a dedup hit is not an upload) can be set
against the objects it wrote:

* a worker that was never SIGKILLed, and the soak's own starter: equal, exactly;
* a SIGKILLed worker: its counters die with it, so the soak scrapes them just before the kill;
  an upload in flight at that moment can still land afterwards, so the bucket may hold a few
  more of its objects than the last scrape says (reported as ``landed_after_last_scrape``),
  never fewer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass

from rag_claimcheck.storage.s3 import S3BlobStore

PUTS = "claim_check_store_puts"
DEDUP_HITS = "claim_check_dedup_hits"
IN_FLIGHT_UPLOADS_BOUND = 16
"""At most this many uploads of one worker can be in flight when it is killed (its store's connections)."""


@dataclass
class WriterCount:
    """One process's counters against the objects that name it as their writer."""

    writer: str
    role: str
    """``worker``, ``killed worker`` (counters from the scrape just before the SIGKILL) or ``starter``."""
    puts: int
    dedup_hits: int
    objects: int

    @property
    def landed_after_last_scrape(self) -> int:
        return self.objects - self.puts

    def problem(self) -> str | None:
        """Why these do not add up, or None."""
        if self.role == "killed worker":
            if 0 <= self.landed_after_last_scrape <= IN_FLIGHT_UPLOADS_BOUND:
                return None
        elif self.objects == self.puts:
            return None
        return f"{self.role} {self.writer}: {self.puts} puts counted, {self.objects} objects written"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "landed_after_last_scrape": self.landed_after_last_scrape}


async def objects_by_writer(store: S3BlobStore, keys: list[str], *, concurrency: int = 16) -> Counter[str]:
    """How many of ``keys`` each writer wrote (``unknown`` where an object records none)."""
    limit = asyncio.Semaphore(concurrency)

    async def one(key: str) -> str:
        async with limit:
            return await store.writer_of(key=key) or "unknown"

    return Counter(await asyncio.gather(*(one(key) for key in keys)))
