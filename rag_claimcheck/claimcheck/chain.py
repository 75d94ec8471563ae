"""Compose payload codecs so the claim-check codec joins an existing one instead of replacing it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext


class ChainedCodec(PayloadCodec, WithSerializationContext):
    """Encode with each codec in order; decode in reverse order.

    With ``[encryption, claim_check]`` a payload is encrypted first and the ciphertext is what
    goes to the blob store; history holds only the reference.
    """

    def __init__(self, codecs: Sequence[PayloadCodec]) -> None:
        if not codecs:
            raise ValueError("ChainedCodec needs at least one codec")
        self.codecs = list(codecs)

    def with_context(self, context: SerializationContext) -> ChainedCodec:
        return ChainedCodec(
            [c.with_context(context) if isinstance(c, WithSerializationContext) else c for c in self.codecs]
        )

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        result = list(payloads)
        for codec in self.codecs:
            result = await codec.encode(result)
        return result

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        result = list(payloads)
        for codec in reversed(self.codecs):
            result = await codec.decode(result)
        return result
