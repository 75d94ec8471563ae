"""Object keys: content-addressed, and scoped per workflow when the context names one.

Layout::

    {key_prefix}/ns/{namespace}/wf/{workflow_id}/sha256/{hex}   # payloads of one workflow
    {key_prefix}/shared/sha256/{hex}                           # no workflow context

Namespace and workflow id are percent-encoded so that any id maps to exactly one safe path
segment (``.`` is encoded too, so ``..`` can never appear).
"""

from __future__ import annotations

import hashlib
import string

DEFAULT_KEY_PREFIX = "claim-check"

_SAFE = frozenset(string.ascii_letters + string.digits + "-_")


def encode_segment(value: str) -> str:
    """Percent-encode ``value`` into one path segment of safe characters."""
    if not value:
        raise ValueError("a key segment cannot be empty")
    return "".join(chr(b) if chr(b) in _SAFE else f"%{b:02X}" for b in value.encode("utf-8"))


MAX_SEGMENT_CHARS = 300
"""Encoded ids longer than this (percent-encoding can triple an id) are replaced by a hash."""


def id_segment(value: str) -> str:
    """``value`` as one key segment: percent-encoded, or ``h-<sha256>`` if that would be too long."""
    encoded = encode_segment(value)
    if len(encoded) > MAX_SEGMENT_CHARS:
        return "h-" + hashlib.sha256(value.encode("utf-8")).hexdigest()
    return encoded


def workflow_prefix(*, namespace: str, workflow_id: str, key_prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """The prefix (ending in ``/``) under which all blobs of one workflow are stored.

    Keys stay under S3's 1,024-byte limit for any namespace and workflow id.
    """
    return f"{key_prefix}/ns/{id_segment(namespace)}/wf/{id_segment(workflow_id)}/"


def blob_key(
    *,
    sha256_hex: str,
    namespace: str | None,
    workflow_id: str | None,
    key_prefix: str = DEFAULT_KEY_PREFIX,
) -> str:
    """The key for a blob with digest ``sha256_hex``, scoped to the workflow when known."""
    if namespace and workflow_id:
        return f"{workflow_prefix(namespace=namespace, workflow_id=workflow_id, key_prefix=key_prefix)}sha256/{sha256_hex}"
    return f"{key_prefix}/shared/sha256/{sha256_hex}"
