"""How big a soak is and what breaks: the jobs' mix, the fleet, the rates and the fault plan."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from rag_claimcheck.chaos.faults import FaultPlan
from rag_claimcheck.chaos.workload import DOCUMENT_SIZES, SIZE_WEIGHTS


@dataclass(frozen=True)
class SoakPlan:
    """How big the soak is and what breaks."""

    workflows: int = 300
    workers: int = 3
    mode: Literal["codec", "extstore"] = "codec"
    rate: float = 1.0
    """Chaos-run workflows started a second."""
    quiet_rate: float | None = None
    """Quiet-run workflows started a second (default: ``rate``)."""
    sizes: tuple[int, ...] = DOCUMENT_SIZES
    weights: tuple[int, ...] = SIZE_WEIGHTS
    conversation_share: float = 0.1
    turns: int = 3
    faults: FaultPlan = field(default_factory=FaultPlan)
    seed: int = 7

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
