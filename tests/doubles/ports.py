"""Each double as its port (mypy checks these assignments, so a double that drifts from its
port fails ``scripts/test``), and a Context made of doubles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlops_ci import ports
from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools
from mlops_ci.app.layout import Layout
from mlops_ci.image.base import BlobCache
from mlops_ci.manifest.model import Manifest
from tests.doubles.hosts import (
    MemoryCiHost,
    MemoryCodeHost,
    MemoryEngine,
    MemoryRegistry,
    MemoryScraper,
    ScriptedRunner,
    TickingClock,
)
from tests.doubles.store import MemoryRecordStore, MemoryTracker
from tests.doubles.vcs import MemoryVcs


def _as_ports(root: Path) -> None:
    """Never called: mypy reads it."""
    clock: ports.Clock = TickingClock()
    vcs: ports.Vcs = MemoryVcs(root)
    store: ports.RecordStore = MemoryRecordStore()
    tracker: ports.Tracker = MemoryTracker()
    registry: ports.Registry = MemoryRegistry()
    engine: ports.Engine = MemoryEngine()
    code_host: ports.CodeHost = MemoryCodeHost()
    runner: ports.Runner = ScriptedRunner()
    scraper: ports.Scraper = MemoryScraper()
    ci: ports.CiHost = MemoryCiHost()
    del clock, vcs, store, tracker, registry, engine, code_host, runner, scraper, ci


@dataclass
class World:
    """The doubles one test works with, and the Context that sees them."""

    manifest: Manifest
    vcs: MemoryVcs
    store: MemoryRecordStore = field(default_factory=MemoryRecordStore)
    scratch: MemoryRecordStore = field(default_factory=MemoryRecordStore)
    tracker: MemoryTracker | None = field(default_factory=MemoryTracker)
    clock: TickingClock = field(default_factory=TickingClock)
    runner: ScriptedRunner = field(default_factory=ScriptedRunner)
    registry: MemoryRegistry = field(default_factory=MemoryRegistry)
    engine: MemoryEngine = field(default_factory=MemoryEngine)
    code_host: MemoryCodeHost = field(default_factory=MemoryCodeHost)
    environ: Mapping[str, str] = field(default_factory=dict)

    def context(self) -> Context:
        return Context(
            manifest=self.manifest,
            environ=self.environ,
            layout=Layout(self.manifest.repository),
            store=self.store,
            vcs=self.vcs,
            tracker=lambda: self.tracker,
            clock=self.clock,
            runner=self.runner,
            scratch=self.scratch,
            observations=self.store,
        )

    def image_tools(self) -> ImageTools:
        return ImageTools(
            registry=lambda reference: self.registry,
            cache=BlobCache(self.manifest.repository / ".blob-cache"),
            engine=lambda: self.engine,
        )
