"""Which blob keys a request may read, and links to one blob that carry their own proof.

Readable keys, for a request in namespace ``N`` (from its ``X-Namespace`` header):

* ``{prefix}/ns/{N}/wf/{workflow}/sha256/{hex}`` - blobs of N's workflows (N percent-encoded the
  way :func:`~rag_claimcheck.claimcheck.keys.id_segment` writes it);
* ``{prefix}/shared/sha256/{hex}`` - blobs written without a workflow context;
* ``{uuid4}`` at the bucket root - the AI-cookbook recipe's v1 keys.

Everything else - other namespaces, other prefixes, other objects in the bucket, ``..`` - is
refused before the store is asked. The namespace check keeps a UI page of one namespace from
showing another namespace's blobs; it is not authentication (any client can send any header):
that is what the bearer token is for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX, id_segment
from rag_claimcheck.storage.base import InvalidKeyError, validate_key

BlobFormat = Literal["kit", "recipe-v1"]

_SEGMENT = r"[A-Za-z0-9_%-]+"
_RECIPE_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_MAX_NAMESPACE_LENGTH = 255


class KeyRejected(Exception):
    """A key the request may not read; ``status`` is the HTTP status to answer with."""

    status = 403
    error_type = "ClaimCheckKeyOutOfScope"


class KeyInvalid(KeyRejected):
    """Not a safe key at all (empty, absolute, ``..``, backslash, too long)."""

    status = 400
    error_type = "ClaimCheckKeyInvalid"


@dataclass(frozen=True)
class BlobLocation:
    """A key that passed the scope check, and what the key itself says about the blob.

    Attributes:
        key: The object key.
        format: ``kit`` (content-addressed, the stored bytes are the payload's data, possibly
            compressed) or ``recipe-v1`` (the stored bytes are a serialized ``Payload``).
        sha256: For kit keys, the hex digest of the stored bytes (it is part of the key).
    """

    key: str
    format: BlobFormat
    sha256: str | None = None


def check_namespace(namespace: str) -> str:
    """``namespace`` if it can be a Temporal namespace name, else :class:`KeyInvalid`."""
    if not namespace or len(namespace) > _MAX_NAMESPACE_LENGTH or not namespace.isprintable():
        raise KeyInvalid(f"X-Namespace must be a printable namespace name; got {namespace[:80]!r}")
    return namespace


@dataclass(frozen=True)
class KeyScope:
    """The keys one namespace may read under one key prefix."""

    namespace: str
    key_prefix: str = DEFAULT_KEY_PREFIX

    def __post_init__(self) -> None:
        check_namespace(self.namespace)

    def locate(self, key: str) -> BlobLocation:
        """The :class:`BlobLocation` of ``key``, or :class:`KeyInvalid` / :class:`KeyRejected`."""
        try:
            validate_key(key)
        except InvalidKeyError as e:
            raise KeyInvalid(str(e)) from None
        if _RECIPE_KEY.fullmatch(key):
            return BlobLocation(key=key, format="recipe-v1")
        prefix = re.escape(self.key_prefix)
        match = re.fullmatch(
            rf"{prefix}/(?:ns/(?P<ns>{_SEGMENT})/wf/{_SEGMENT}|shared)/sha256/(?P<sha>[0-9a-f]{{64}})", key
        )
        if match is None:
            raise KeyRejected(
                f"key is outside what this codec server serves [key={key!r}]: expected "
                f"{self.key_prefix}/ns/<namespace>/wf/<workflow>/sha256/<hex>, "
                f"{self.key_prefix}/shared/sha256/<hex> or a recipe v1 uuid"
            )
        owner = match.group("ns")
        if owner is not None and owner != id_segment(self.namespace):
            raise KeyRejected(
                f"key belongs to namespace {unquote(owner)!r}, not to {self.namespace!r} [key={key}]"
            )
        return BlobLocation(key=key, format="kit", sha256=match.group("sha"))


def _link_message(params: Mapping[str, str], expires: str) -> bytes:
    fields = (params.get(name, "") for name in ("namespace", "key", "compression", "encoding"))
    return "\n".join([*fields, expires]).encode()


def sign_link(token: str, params: Mapping[str, str], *, expires: int) -> str:
    """The signature of a blob link: HMAC-SHA256 under ``token`` of its parameters and expiry."""
    digest = hmac.new(token.encode(), _link_message(params, str(expires)), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_is_valid(token: str, query: Mapping[str, str], *, now: float) -> bool:
    """Whether ``query`` carries an unexpired signature this server made with ``token``."""
    expires, signature = query.get("expires", ""), query.get("sig", "")
    if not expires.isdigit() or not signature or int(expires) < now:
        return False
    expected = sign_link(token, query, expires=int(expires))
    return hmac.compare_digest(expected.encode(), signature.encode())
