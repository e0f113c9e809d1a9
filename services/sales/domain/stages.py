"""The opportunity stage rules, as pure functions: what a requested change really does."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.errors import Conflict, ValidationFailed

STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
OPEN_STAGES = STAGES[:4]
WON, LOST = "closed_won", "closed_lost"
DEFAULT_PROBABILITY = {
    "prospecting": Decimal("0.100"),
    "qualification": Decimal("0.200"),
    "proposal": Decimal("0.500"),
    "negotiation": Decimal("0.800"),
    WON: Decimal("1.000"),
    LOST: Decimal("0.000"),
}


@dataclass
class StagePlan:
    """The fields to set, and the stage move (if any) the history and events record."""

    changes: dict[str, Any] = field(default_factory=dict)
    from_stage: str | None = None
    to_stage: str | None = None

    @property
    def moves(self) -> bool:
        return self.to_stage is not None


def plan_new(data: dict[str, Any]) -> dict[str, Any]:
    """Fields for a new opportunity: it starts in an open stage with that stage's probability."""
    stage = data.get("stage", "prospecting")
    if stage not in OPEN_STAGES:
        raise ValidationFailed(
            {"stage": ["A new opportunity starts in an open stage; close it with a PATCH."]}
        )
    if data.get("lost_reason"):
        raise ValidationFailed({"lost_reason": ["Only a closed_lost opportunity has one."]})
    return {
        **data,
        "stage": stage,
        "probability": data.get("probability", DEFAULT_PROBABILITY[stage]),
    }


def plan_change(current: Any, changes: dict[str, Any], now: Any) -> StagePlan:
    """Apply the stage rules to a PATCH of `current` (anything with stage/lost_reason)."""
    changes = dict(changes)
    stage = changes.pop("stage", current.stage)
    if current.stage == WON and stage != WON:
        raise Conflict("A won opportunity's stage cannot change.", stage=current.stage)
    lost_reason = changes.get("lost_reason", current.lost_reason)
    if stage == LOST and not (lost_reason and lost_reason.strip()):
        raise ValidationFailed({"lost_reason": ["Required when the stage is closed_lost."]})
    if stage != LOST and changes.get("lost_reason"):
        raise ValidationFailed({"lost_reason": ["Only a closed_lost opportunity has one."]})
    plan = StagePlan(changes)
    if stage == current.stage:
        if stage in (WON, LOST) and "probability" in changes:
            changes["probability"] = DEFAULT_PROBABILITY[stage]
        return plan
    plan.from_stage, plan.to_stage = current.stage, stage
    changes["stage"] = stage
    if current.stage == LOST:
        changes["lost_reason"] = None  # reopened or won after all: the old reason no longer holds
    if stage in (WON, LOST):
        changes["probability"] = DEFAULT_PROBABILITY[stage]
        changes["closed_at"] = now
    else:
        changes.setdefault("probability", DEFAULT_PROBABILITY[stage])
        changes["closed_at"] = None
    return plan


def stage_events(plan: StagePlan) -> list[str]:
    """The events a stage move emits: always stage_changed, plus won or lost on closing."""
    if not plan.moves:
        return []
    extra = {WON: ["opportunity.won"], LOST: ["opportunity.lost"]}.get(plan.to_stage or "", [])
    return ["opportunity.stage_changed", *extra]
