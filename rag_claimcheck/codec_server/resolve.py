"""Turn a claim-check reference back into the payload it stands for, or into a readable summary.

Three reference formats are recognised (everything else passes through untouched):

* ``v2`` - this kit's codec (``encoding: json/claim-check-reference``);
* ``recipe-v1`` - the AI-cookbook recipe (``temporal.io/claim-check-codec: v1``);
* ``external-storage`` - the SDK's ``ExternalStorageReference`` (``json/protobuf``), when its
  driver is this kit's :class:`~rag_claimcheck.claimcheck.driver.ClaimCheckStorageDriver`.

A reference that cannot be shown - its blob is missing or corrupt, its key is outside the
request's namespace, or the store is down - becomes a ``json/plain`` *summary payload* naming the
error type, so one bad payload never breaks a whole UI page. A payload whose data is larger
than the display limit also becomes a summary: size, sha256, key, a text preview and a link
to the full content.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import ExternalStorageReference

from rag_claimcheck.claimcheck.compression import COMPRESSIONS, DecompressionLimitError, decompress
from rag_claimcheck.claimcheck.errors import (
    ClaimCheckDecompressionLimitExceeded,
    ClaimCheckError,
    ClaimCheckIntegrityError,
    ClaimCheckReferenceInvalid,
)
from rag_claimcheck.claimcheck.reference import ClaimCheckReference, is_recipe_reference, is_reference
from rag_claimcheck.claimcheck.vault import PayloadVault, parse_payload
from rag_claimcheck.codec_server.access import BlobLocation, KeyRejected, KeyScope
from rag_claimcheck.codec_server.budget import DecodeBudget
from rag_claimcheck.observe.history import human_bytes

ClaimFormat = Literal["v2", "recipe-v1", "external-storage"]

VIEW_METADATA_KEY = "claim-check-view"
"""Metadata key set on every payload the server made up: ``summary`` or ``error``."""
PREVIEW_CHARS = 1000
"""How many characters of each long text a summary shows."""
PREVIEW_PARSE_MAX_BYTES = 64 * 1024 * 1024
"""JSON payloads up to this size are parsed for the preview; larger ones show their raw beginning."""
OFFLOAD_HASH_BYTES = 256 * 1024
"""Blobs at least this large are hashed and decompressed in a thread."""

_EXTSTORE_MESSAGE_TYPE = ExternalStorageReference.DESCRIPTOR.full_name.encode()
_EXTSTORE_LEGACY_ENCODING = b"json/external-storage-reference"
_TEXT_ENCODING_PREFIXES = ("json/", "text/")


@dataclass(frozen=True)
class Claim:
    """A reference found in a payload: its format, its key and, except for v1, its recorded facts."""

    format: ClaimFormat
    key: str
    reference: ClaimCheckReference | None = None


@dataclass(frozen=True)
class Redeemed:
    """The original payload a claim stood for, with the digest of the stored blob."""

    payload: Payload
    stored_sha256: str
    compression: str


def _external_storage_claim(payload: Payload, driver_names: tuple[str, ...]) -> Claim | None:
    encoding = payload.metadata.get("encoding", b"")
    if encoding == b"json/protobuf" and payload.metadata.get("messageType") == _EXTSTORE_MESSAGE_TYPE:
        message = ExternalStorageReference()
        try:
            json_format.Parse(payload.data, message, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as e:
            raise ClaimCheckReferenceInvalid(
                f"ExternalStorageReference is not valid protobuf JSON: {e}"
            ) from e
        driver, claim_data = message.driver_name, dict(message.claim_data)
    elif encoding == _EXTSTORE_LEGACY_ENCODING:
        try:
            body = json.loads(payload.data)
            driver, claim_data = str(body["driver_name"]), dict(body["driver_claim"]["claim_data"])
        except (ValueError, KeyError, TypeError) as e:
            raise ClaimCheckReferenceInvalid(f"external storage reference is malformed: {e}") from e
    else:
        return None
    if driver not in driver_names:
        return None  # another driver's claim (e.g. the SDK's S3 driver): not ours to read
    try:
        reference = ClaimCheckReference.from_claim_data({str(k): str(v) for k, v in claim_data.items()})
    except ValueError as e:
        raise ClaimCheckReferenceInvalid(f"ExternalStorageReference of driver {driver!r}: {e}") from e
    return Claim(format="external-storage", key=reference.key, reference=reference)


def find_claim(payload: Payload, *, driver_names: tuple[str, ...]) -> Claim | None:
    """The claim ``payload`` carries, ``None`` if it is an ordinary payload.

    Raises:
        ClaimCheckReferenceInvalid: the payload is marked as a reference but cannot be parsed.
    """
    if is_reference(payload):
        try:
            reference = ClaimCheckReference.from_payload(payload)
        except ValueError as e:
            raise ClaimCheckReferenceInvalid(str(e)) from e
        return Claim(format="v2", key=reference.key, reference=reference)
    if is_recipe_reference(payload):
        try:
            key = payload.data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ClaimCheckReferenceInvalid("recipe v1 reference key is not UTF-8") from e
        return Claim(format="recipe-v1", key=key)
    return _external_storage_claim(payload, driver_names)


def summary_payload(fields: Mapping[str, object], *, view: Literal["summary", "error"]) -> Payload:
    """A ``json/plain`` payload the UI renders as a readable JSON object."""
    return Payload(
        metadata={"encoding": b"json/plain", VIEW_METADATA_KEY: view.encode()},
        data=json.dumps(dict(fields), ensure_ascii=False).encode(),
    )


def _cut(text: str) -> str:
    if len(text) <= PREVIEW_CHARS:
        return text
    return f"{text[:PREVIEW_CHARS]} … ({len(text) - PREVIEW_CHARS:,} more characters: open the link)"


def preview_of(payload: Payload) -> object | None:
    """A readable beginning of a large text payload, for the summary.

    JSON payloads are parsed, so a document shows as its words (the Web UI breaks lines at
    ``\n``): a string is cut after :data:`PREVIEW_CHARS` characters; in an object, every long
    string field is cut and the short fields (a filename, a type) are kept as they are.
    """
    encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")
    if not encoding.startswith(_TEXT_ENCODING_PREFIXES):
        return None
    if encoding == "json/plain" and len(payload.data) <= PREVIEW_PARSE_MAX_BYTES:
        try:
            value = json.loads(payload.data)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, str):
            return _cut(value)
        if isinstance(value, dict):
            return {k: _cut(v) if isinstance(v, str) else v for k, v in value.items() if _small_or_text(v)}
    return _cut(payload.data[: PREVIEW_CHARS * 4].decode("utf-8", "ignore"))


def _small_or_text(value: object) -> bool:
    """Whether a field belongs in a preview: strings, numbers, booleans, null (not big lists)."""
    return value is None or isinstance(value, (str, int, float, bool))


def _claim_facts(claim: Claim) -> dict[str, object]:
    facts: dict[str, object] = {"format": claim.format, "key": claim.key}
    if claim.reference is not None:
        ref = claim.reference
        facts.update(encoding=ref.encoding, size=ref.size, sha256=ref.sha256, compression=ref.compression)
    return facts


def error_summary(claim: Claim | None, error_type: str, message: str) -> Payload:
    """The payload shown instead of a reference that could not be redeemed."""
    fields: dict[str, object] = {
        "claim_check": "the blob this reference points at could not be shown",
        "error": error_type,
        "message": message[:500],
    }
    if claim is not None:
        fields.update(_claim_facts(claim))
    return summary_payload(fields, view="error")


LinkMaker = Callable[[Claim, Redeemed], str]


def returned_size(payload: Payload) -> int:
    """Bytes ``payload`` takes in a ``/decode`` answer: its data in base64, as protobuf JSON sends it."""
    return (len(payload.data) + 2) // 3 * 4


class Resolver:
    """Redeems claims through a :class:`PayloadVault` under a display limit.

    Args:
        vault: Reads and verifies blobs.
        display_max_bytes: Larger decoded payloads are replaced by a summary with a link.
        driver_names: External-storage driver names whose claims are read.
    """

    def __init__(self, vault: PayloadVault, *, display_max_bytes: int, driver_names: tuple[str, ...]) -> None:
        if display_max_bytes < 1:
            raise ValueError(f"display_max_bytes must be >= 1; got {display_max_bytes}")
        self.vault = vault
        self.display_max_bytes = display_max_bytes
        self.driver_names = driver_names

    async def decode(
        self, payload: Payload, *, scope: KeyScope, link: LinkMaker, budget: DecodeBudget | None = None
    ) -> Payload:
        """The payload to show for ``payload``: the original, a summary, or ``payload`` itself.

        With a ``budget``, each blob is read once per request, and a reference whose blob (or
        whose returned data) would overdraw the budget becomes a summary with a link, unread.
        """
        try:
            claim = find_claim(payload, driver_names=self.driver_names)
        except ClaimCheckReferenceInvalid as e:
            return error_summary(None, e.error_type, e.message)
        if claim is None:
            return payload
        try:
            scope.locate(claim.key)
            if budget is None:
                redeemed: Redeemed | None = await self.redeem(claim)
            else:
                stored = claim.reference.stored_size if claim.reference is not None else None
                redeemed = await budget.fetch_once(
                    claim.key, stored, lambda: self.redeem(claim), lambda r: len(r.payload.data)
                )
        except KeyRejected as e:
            return error_summary(claim, e.error_type, str(e))
        except ClaimCheckError as e:
            return error_summary(claim, e.error_type, e.message)
        if redeemed is None or (
            budget is not None
            and len(redeemed.payload.data) <= self.display_max_bytes
            and not budget.take(returned_size(redeemed.payload))
        ):
            return self.over_budget(claim, redeemed, budget, link)
        original = redeemed.payload
        if len(original.data) <= self.display_max_bytes:
            return original
        fields: dict[str, object] = {
            "claim_check": (
                f"{human_bytes(len(original.data))} of data, over this codec server's display limit of "
                f"{human_bytes(self.display_max_bytes)}: a preview; the full content is at the 'open' link"
            ),
            "open": link(claim, redeemed),
        }
        preview = (
            await asyncio.to_thread(preview_of, original)
            if len(original.data) >= OFFLOAD_HASH_BYTES
            else preview_of(original)
        )
        if preview is not None:
            fields["preview"] = preview
        fields.update(
            _claim_facts(claim),
            encoding=original.metadata.get("encoding", b"").decode("utf-8", "replace"),
            size=len(original.data),
            sha256=redeemed.stored_sha256,
        )
        return summary_payload(fields, view="summary")

    def over_budget(
        self, claim: Claim, redeemed: Redeemed | None, budget: DecodeBudget | None, link: LinkMaker
    ) -> Payload:
        """The summary shown for a reference this request has no budget left to read or return."""
        if redeemed is None:  # not read: the link is made from what the reference records
            ref = claim.reference
            redeemed = Redeemed(
                Payload(metadata={"encoding": (ref.encoding if ref else "").encode()}),
                ref.sha256 if ref else "",
                ref.compression if ref else "none",
            )
        limit = human_bytes(budget.limit) if budget is not None else "?"
        fields: dict[str, object] = {
            "claim_check": (
                f"not shown: this request reached the codec server's limit of {limit} read from the "
                "store and returned (CLAIM_CHECK_CODEC_MAX_DECODE_BYTES); open the link for the content"
            ),
            "open": link(claim, redeemed),
            **_claim_facts(claim),
        }
        return summary_payload(fields, view="summary")

    async def redeem(self, claim: Claim) -> Redeemed:
        """Fetch and verify the original payload of ``claim`` (claim-check errors on failure)."""
        if claim.reference is not None:
            payload = await self.vault.get(claim.reference, workflow_id=None)
            return Redeemed(payload, claim.reference.sha256, claim.reference.compression)
        raw = await self.vault.fetch_raw(claim.key, workflow_id=None)
        digest = await _sha256(raw)
        return Redeemed(parse_payload(raw, key=claim.key, workflow_id=None), digest, "none")

    async def read_blob(self, location: BlobLocation, *, compression: str) -> tuple[bytes, str]:
        """The data of the payload stored at ``location`` and its ``encoding``, verified.

        Kit blobs are checked against the sha256 in their key and decompressed with
        ``compression`` (which the link records); recipe v1 blobs are serialized payloads.
        """
        if compression not in COMPRESSIONS:
            raise ClaimCheckReferenceInvalid(
                f"compression must be one of {COMPRESSIONS}; got {compression!r}"
            )
        raw = await self.vault.fetch_raw(location.key, workflow_id=None)
        if location.format == "recipe-v1":
            payload = parse_payload(raw, key=location.key, workflow_id=None)
            return payload.data, payload.metadata.get("encoding", b"").decode("utf-8", "replace")
        digest = await _sha256(raw)
        if digest != location.sha256:
            raise ClaimCheckIntegrityError(
                f"blob does not match its key [key={location.key}]: got sha256:{digest}", key=location.key
            )
        try:
            data = await _maybe_in_thread(
                len(raw), lambda: decompress(raw, compression, max_bytes=self.vault.max_decompressed_bytes)
            )
        except DecompressionLimitError as e:
            raise ClaimCheckDecompressionLimitExceeded(f"{e} [key={location.key}]", key=location.key) from e
        except ValueError as e:
            raise ClaimCheckIntegrityError(f"{e} [key={location.key}]", key=location.key) from e
        return data, ""


async def _maybe_in_thread(size: int, fn: Callable[[], bytes]) -> bytes:
    return await asyncio.to_thread(fn) if size >= OFFLOAD_HASH_BYTES else fn()


async def _sha256(data: bytes) -> str:
    if len(data) >= OFFLOAD_HASH_BYTES:
        return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    return hashlib.sha256(data).hexdigest()
