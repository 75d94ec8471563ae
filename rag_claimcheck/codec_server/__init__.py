"""A codec server for the Temporal Web UI and CLI that shows what claim-check references point at.

Run it with ``python -m rag_claimcheck.codec_server`` (see ``--help``) and point the UI at it
(``temporal server start-dev --ui-codec-endpoint http://localhost:8081``) or the CLI
(``temporal workflow show --codec-endpoint http://localhost:8081 …``). Embed it with
:func:`start_codec_server`.

May import: storage, observe, claimcheck.

Routes (any path prefix works: only the last segment names the operation, as the codec-server
protocol asks):

``POST /decode``
    Body and answer ``{"payloads": [...]}`` in protobuf JSON. Every claim-check reference - this
    kit's v2, the AI-cookbook recipe's v1, and the SDK ``ExternalStorageReference`` written by
    this kit's storage driver - is replaced by the original payload, verified (size, sha256).
    Other payloads come back unchanged.
``POST /encode``
    The claim-check codec with the ``CLAIM_CHECK_*`` settings, so ``temporal workflow start
    --codec-endpoint …`` can start a workflow with an input too large for history (workers must
    run in ``codec`` mode). Blobs go under ``claim-check/shared/`` since the CLI does not say
    which workflow they belong to. ``--encode passthrough`` returns payloads unchanged instead.
``GET /blob?key=…``
    The full data of one stored payload (``application/json`` for JSON encodings, else
    ``application/octet-stream``; never a type a browser would run). Summaries link here.

Choices, and why:

* **Large payloads are summarised, not shipped.** Above ``display_max_bytes`` (256 KiB of data by
  default) ``/decode`` returns a ``json/plain`` summary - size, sha256, key, a text preview and
  a link to ``/blob`` - instead of megabytes of base64 in a browser tab.
* **One bad payload never fails the page.** A reference whose blob is missing, corrupt, outside
  the request's namespace, or whose store is down, is replaced by a ``json/plain`` summary that
  names the error type (``ClaimCheckPayloadMissing``, ``ClaimCheckIntegrityError``,
  ``ClaimCheckKeyOutOfScope``, ``ClaimCheckStoreUnavailable`` …) and the key; the rest of the
  batch decodes normally. (The Web UI treats any answer as the decoded payloads, so a 404 for
  the batch would break the whole page; ``GET /blob`` of a missing key is a plain 404.)
* **Safe by default.** Binds 127.0.0.1; accepts only loopback ``Host`` names (DNS-rebinding
  guard); CORS only for the configured UI origins (with credentials, and the ``Authorization,
  Content-Type, X-Namespace`` headers the UI sends); POST bodies must be JSON (so a
  cross-site form cannot post without a preflight) and at most ``max_request_bytes``.
* **Optional bearer token** (``CLAIM_CHECK_CODEC_TOKEN``): every request but a CORS preflight
  then needs ``Authorization: Bearer <token>``; blob links in summaries carry an HMAC signature
  of the token (valid one hour) so they open in a browser tab without exposing the token. The
  Web UI only forwards its own OIDC access token, and only to an ``https`` codec endpoint, so
  for the local UI leave the token unset and rely on the loopback bind.
* **Namespaces.** A request reads only keys of its ``X-Namespace`` (empty or missing: the
  default namespace), shared keys and recipe v1 uuid keys; see :mod:`.access`.
* **Errors** are ``{"error": "..."}`` with 400 (bad JSON, not a list, bad key), 401, 403 (key
  out of scope, foreign Host), 404, 413, 415, 502 (blob fails verification) or 503 (store down);
  never a traceback.
"""

from __future__ import annotations

from rag_claimcheck.codec_server.access import KeyScope
from rag_claimcheck.codec_server.app import RunningCodecServer, create_app, start_codec_server
from rag_claimcheck.codec_server.options import (
    DEFAULT_DISPLAY_MAX_BYTES,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_UI_ORIGINS,
    ENV_VARS,
    CodecServerConfigError,
    CodecServerOptions,
)
from rag_claimcheck.codec_server.resolve import VIEW_METADATA_KEY

__all__ = [
    "DEFAULT_DISPLAY_MAX_BYTES",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_UI_ORIGINS",
    "ENV_VARS",
    "VIEW_METADATA_KEY",
    "CodecServerConfigError",
    "CodecServerOptions",
    "KeyScope",
    "RunningCodecServer",
    "create_app",
    "start_codec_server",
]
