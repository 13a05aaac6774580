"""The one module that names the concrete adapters: it builds each use case's context and
tools from a manifest and the environment.

Adapters are imported inside the functions that make them: a command pays for the clients
it uses (MLflow's import alone is a second), and ``manifest validate`` for none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from mlops_ci.app.layout import Layout

if TYPE_CHECKING:
    # The use cases' types only: every command imports this module, most need few of them.
    from mlops_ci.adapters.gha import SecretMasker
    from mlops_ci.adapters.git_records import GitRecordStore
    from mlops_ci.adapters.mlflow import MlflowTracker
    from mlops_ci.adapters.mlflow_connection import TrackingTarget
    from mlops_ci.app.context import Context
    from mlops_ci.app.image import ImageTools
    from mlops_ci.app.signing import Trust
    from mlops_ci.manifest.model import Manifest
    from mlops_ci.ports import CiHost, CodeHost, Meters, Scraper, SignatureChecker, Signer, Vcs

# "on": MLflow is told; "off": records only; "if-present": asked only when its store is
# there (an embedded store that does not exist yet is not made just to be asked).
Tracking = Literal["on", "off", "if-present"]


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def contexts(
    manifests: Sequence[Manifest], environ: Mapping[str, str], tracking: Tracking
) -> list[Context]:
    """The contexts of several models; those of one repository share its record store and
    its work tree (so one walk of its history answers them all)."""
    shared: dict[Path, tuple[GitRecordStore, Vcs]] = {}
    made = []
    for manifest in manifests:
        key = manifest.repository.resolve()
        if key not in shared:
            shared[key] = (record_store(manifest, environ), vcs(manifest.repository))
        store, work_tree = shared[key]
        made.append(context(manifest, environ, tracking, store=store, work_tree=work_tree))
    return made


def context(
    manifest: Manifest,
    environ: Mapping[str, str],
    tracking: Tracking,
    *,
    store: GitRecordStore | None = None,
    work_tree: Vcs | None = None,
    meters: Meters | None = None,
    defers_mirror: bool = False,
) -> Context:
    from mlops_ci.adapters.process import ProcessRunner
    from mlops_ci.adapters.records import RecordStore
    from mlops_ci.app.context import Context
    from mlops_ci.core.meters import SILENT

    layout = Layout(manifest.repository)

    # Whether the store is there is asked now, before anything (a deferred sync) makes it.
    absent = tracking == "if-present" and not (
        tracking_configured(manifest, environ) and _store_exists(manifest, environ)
    )

    @cache
    def made_tracker() -> MlflowTracker | None:
        # Made on first use: mlflow's import is a second, and some stages never need it.
        if tracking == "off" or absent or not tracking_configured(manifest, environ):
            return None
        return tracker(manifest, environ)

    shared = store or record_store(manifest, environ)
    return Context(
        manifest=manifest,
        environ=environ,
        layout=layout,
        store=shared,
        vcs=work_tree or vcs(manifest.repository),
        tracker=made_tracker,
        clock=SystemClock(),
        runner=ProcessRunner(),
        scratch=RecordStore(layout.folder / "preview" / "records"),
        observations=shared,
        shares=pushes(environ),
        meters=meters or SILENT,
        defers_mirror=defers_mirror,
    )


def record_store(manifest: Manifest, environ: Mapping[str, str]) -> GitRecordStore:
    """The repository's records in git: fetched from ``origin`` before the first read
    (``MLOPS_CI_FETCH``, default true; a failed fetch is an error in CI, a warning
    elsewhere) and pushed after each write (``MLOPS_CI_PUSH``, default true in GitHub
    Actions only). A command over many models shares one (see ``contexts``), so it fetches
    once."""
    from mlops_ci.adapters.git import credential_environment
    from mlops_ci.adapters.git_objects import GitObjects
    from mlops_ci.adapters.git_records import GitRecordStore
    from mlops_ci.app.context import REMOTE

    fetch = setting(environ, "MLOPS_CI_FETCH", default=True)
    push = pushes(environ)
    repository = manifest.repository.resolve()
    ledger = Layout(repository).folder / "mlflow-runs" / f"{_ledger_name(manifest, environ)}.json"
    objects = GitObjects(repository, credential_environment(repository, environ))
    store = GitRecordStore(
        objects,
        remote=REMOTE if fetch or push else None,
        push=push,
        fetch=fetch,
        strict=in_ci(environ),
        ledger=ledger,
    )
    legacy = Layout(repository).records
    if legacy.is_dir():  # kept as files by an mlops-ci before records lived in git
        from mlops_ci.adapters.records import RecordStore
        from mlops_ci.app.legacy_records import import_local_records

        import_local_records(legacy, RecordStore(legacy), store)
    return store


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether the command runs in CI, where a dirty tree or a stale view of the records is
    an error rather than something to work around."""
    return environ.get("CI") == "true" or environ.get("GITHUB_ACTIONS") == "true"


def pushes(environ: Mapping[str, str]) -> bool:
    """Whether records and candidate tags are pushed: ``MLOPS_CI_PUSH``, by default in
    GitHub Actions only (where the runner, and all it holds, is thrown away)."""
    return setting(environ, "MLOPS_CI_PUSH", default=environ.get("GITHUB_ACTIONS") == "true")


def setting(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A yes/no setting from the environment; anything else is a usage error."""
    from mlops_ci.errors import UsageError

    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{name}={environ[name]!r} is not a yes/no value; use true or false")


def _ledger_name(manifest: Manifest, environ: Mapping[str, str]) -> str:
    """Which MLflow a ledger of synced records is about: a digest of its address, so one
    tracking store's runs are never taken for another's."""
    import hashlib

    uri = environ.get("MLFLOW_TRACKING_URI") or manifest.tracking.tracking_uri or "none"
    return hashlib.sha256(uri.encode()).hexdigest()[:16]


def vcs(repository: Path) -> Vcs:
    from mlops_ci.adapters.git import Git

    return Git(repository)


def tracking_configured(manifest: Manifest, environ: Mapping[str, str]) -> bool:
    """Whether MLflow is asked for at all: ``MLFLOW_TRACKING_URI`` or the manifest's
    ``tracking.mlflow.tracking_uri``. Without either, no command pays for MLflow."""
    return bool(environ.get("MLFLOW_TRACKING_URI") or manifest.tracking.tracking_uri)


def tracking_target(manifest: Manifest, environ: Mapping[str, str]) -> TrackingTarget:
    from mlops_ci.adapters.mlflow_connection import TrackingTarget, resolve_tracking_uri
    from mlops_ci.errors import UsageError

    if not tracking_configured(manifest, environ):
        raise UsageError(
            f"MLflow is not configured for {manifest.model.name}: set MLFLOW_TRACKING_URI, or "
            f"tracking.mlflow.tracking_uri in {manifest.path} (sqlite:///.mlops-ci/mlflow.db "
            "for a store in the repository's .mlops-ci folder)"
        )
    return TrackingTarget(
        uri=resolve_tracking_uri(
            manifest.tracking.tracking_uri or "", manifest.repository, environ
        ),
        experiment=manifest.tracking.experiment,
        registered_model=manifest.tracking.registered_model,
        artifact_root=Layout(manifest.repository).tracking_artifacts,
    )


def tracking_uri(manifest: Manifest, environ: Mapping[str, str]) -> str:
    """Where MLflow is, fit for a message (no user or password)."""
    from mlops_ci.adapters.mlflow_connection import redact_uri

    return redact_uri(tracking_target(manifest, environ).uri)


def tracker(manifest: Manifest, environ: Mapping[str, str]) -> MlflowTracker:
    from mlops_ci.adapters.mlflow import MlflowTracker

    target = tracking_target(manifest, environ)
    if target.uri.startswith("sqlite:///"):
        # The embedded store's folder; SQLite makes the file but not its folder.
        Layout(manifest.repository).folder.mkdir(parents=True, exist_ok=True)
    return MlflowTracker(target)


def _store_exists(manifest: Manifest, environ: Mapping[str, str]) -> bool:
    uri = tracking_target(manifest, environ).uri
    return not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).exists()


def signing_key(environ: Mapping[str, str], on_secret: Callable[[str], None]) -> Signer:
    from mlops_ci.adapters.signing_key import signing_key as load

    return load(environ, on_secret)


def image_trust(
    manifest: Manifest, environ: Mapping[str, str], on_secret: Callable[[str], None]
) -> Trust | None:
    """release.image.signing's public key, and the private key when the environment has
    one; None when the manifest asks for no signing."""
    from mlops_ci.adapters.signing_key import SIGNING_KEY, SIGNING_KEY_FILE
    from mlops_ci.app.signing import Trust

    image = manifest.release.image if manifest.release else None
    if image is None or image.signing is None:
        return None
    given = environ.get(SIGNING_KEY) or environ.get(SIGNING_KEY_FILE)
    return Trust(
        public_key(image.signing.public_key),
        signing_key(environ, on_secret) if given else None,
    )


def public_key(path: Path) -> SignatureChecker:
    from mlops_ci.adapters.signing_key import public_key as load

    return load(path)


def image_tools(environ: Mapping[str, str], on_secret: Callable[[str], None]) -> ImageTools:
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.adapters.registry import RegistryClient
    from mlops_ci.app.image import ImageTools
    from mlops_ci.core.image_reference import Reference
    from mlops_ci.image.base import BlobCache

    clients: dict[str, RegistryClient] = {}

    def registry(reference: Reference) -> RegistryClient:
        if reference.api_host not in clients:
            clients[reference.api_host] = RegistryClient.for_reference(
                reference, environ, on_secret=on_secret
            )
        return clients[reference.api_host]

    return ImageTools(
        registry=registry,
        cache=BlobCache.default(environ),
        engine=lambda: DockerEngine(environ),
    )


def code_host(
    environ: Mapping[str, str], on_secret: Callable[[str], None] = lambda secret: None
) -> CodeHost:
    """GitHub from ``GITHUB_TOKEN`` (or a GitHub App) and ``GITHUB_REPOSITORY``; a clear
    error without them."""
    from mlops_ci.adapters.github import connect

    return connect(environ, on_secret=on_secret)


def has_code_host(environ: Mapping[str, str]) -> bool:
    from mlops_ci.adapters.github_token import has_github_token

    return bool(has_github_token(environ) and environ.get("GITHUB_REPOSITORY"))


def scraper(environ: Mapping[str, str]) -> Scraper:
    from mlops_ci.adapters.prometheus import PrometheusScraper

    return PrometheusScraper(environ)


def ci_host(environ: Mapping[str, str], stream: TextIO) -> CiHost:
    from mlops_ci.adapters.gha import GitHubActions

    return GitHubActions(environ, stream)


def secret_masker() -> SecretMasker:
    from mlops_ci.adapters.gha import SecretMasker

    return SecretMasker()
