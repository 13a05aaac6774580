"""What a lifecycle stage gives back: its verdict, the candidate's state, the gates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.core.gates import GateResult, Verdict
from mlops_ci.core.lifecycle import State


@dataclass(frozen=True)
class StageResult:
    stage: str
    version: str
    verdict: Verdict
    state: State
    gates: tuple[GateResult, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    log: Path | None = None
