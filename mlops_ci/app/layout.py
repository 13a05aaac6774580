"""Where mlops-ci keeps its state in a repository: the one place that names ``.mlops-ci``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_FOLDER = ".mlops-ci"


@dataclass(frozen=True)
class Layout:
    """The state folder of one repository and what lives in it."""

    repository: Path

    @property
    def folder(self) -> Path:
        return self.repository / STATE_FOLDER

    @property
    def records(self) -> Path:
        """Where an mlops-ci before records lived in git kept them (moved into git, see
        app/legacy_records)."""
        return self.folder / "records"

    @property
    def tracking_artifacts(self) -> Path:
        """Where a tracking store without an artifact server (the embedded SQLite default)
        keeps its artifacts."""
        return self.folder / "mlartifacts"

    @property
    def image_digests(self) -> Path:
        """The digests of files already hashed into layers, keyed by size, mtime and inode."""
        return self.folder / "images" / "digests.json"

    def log(self, model: str, version: str, stage: str) -> Path:
        return self.folder / "logs" / model / version / f"{stage}.log"

    def artifact_sums(self, model: str, version: str) -> Path:
        """The sums the build took of a candidate's artifacts, with each file's identity on
        this runner: what lets the image build take them instead of hashing again."""
        return self.folder / "artifact-sums" / model / f"{version}.json"

    def image(self, model: str, version: str) -> Path:
        """The state of a candidate's built image (its layers, digests and files)."""
        return self.folder / "images" / model / f"{version}.json"
