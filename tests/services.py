"""Real services the image tests run against, started on 127.0.0.1 by the tests themselves:
Debian's docker-registry (distribution 2.8), a Docker engine (dockerd with its own folders
and socket), and a base image made from Debian's busybox-static. A missing program is a
failure in CI and a skip elsewhere."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUSYBOX_APPLETS = (
    "sh", "cp", "mv", "ln", "rm", "mkdir", "sha256sum", "grep", "sed", "echo", "cat", "ls",
    "test", "[", "df", "dd", "chmod", "readlink", "sleep", "head", "mktemp", "find",
)  # fmt: skip


def require(program: str, package: str) -> str:
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/bin", program), Path("/usr/sbin", program)) if p.exists()),
        None,
    )
    if found is None:
        message = f"{program} is not installed (apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(
    handle: Callable[[http.server.BaseHTTPRequestHandler], None],
) -> http.server.ThreadingHTTPServer:
    """A threaded HTTP/1.1 server on a free port of 127.0.0.1 that gives every request,
    whatever its method, to ``handle``; it runs until ``shutdown()``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            handle(self)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


class RegistryServer:
    """docker-registry on a free port, storing in ``folder``; with ``users`` it asks for
    htpasswd basic auth."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None, auth: str = "") -> None:
        self.folder = folder
        self.users = users or {}
        self.auth = auth
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = require("docker-registry", "docker-registry")
        self.folder.mkdir(parents=True, exist_ok=True)
        auth = self.auth
        if self.users:
            import bcrypt

            lines = [
                f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}"
                for user, password in self.users.items()
            ]
            (self.folder / "htpasswd").write_text("\n".join(lines) + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {self.folder / 'htpasswd'}\n"
        config = self.folder / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.folder / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n" + auth
        )
        self.process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=(self.folder / "registry.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"docker-registry exited: {(self.folder / 'registry.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for a login
            except OSError:
                time.sleep(0.1)
        pytest.fail("docker-registry did not answer within 30 s")

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


class DockerEngine:
    """dockerd with its own data root, exec root, socket and pid file, and no networking
    of its own (it must not touch the machine's firewall or bridges)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = require("dockerd", "docker.io")
        if os.geteuid() != 0:
            pytest.skip("dockerd needs root here")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--data-root",
                str(self.folder / "data"),
                "--exec-root",
                str(self.folder / "exec"),
                "--host",
                self.host,
                "--pidfile",
                str(self.folder / "docker.pid"),
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ],
            stdout=(self.folder / "dockerd.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"dockerd exited: {(self.folder / 'dockerd.log').read_text()[-3000:]}")
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        pytest.fail("dockerd did not answer within 60 s")

    def docker(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Debian's client, the same release as the engine (another client may be first on PATH).
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
        return subprocess.run(
            [client, *arguments],
            env={**os.environ, "DOCKER_HOST": self.host},
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


def busybox_layout(
    folder: Path, *, gzip_mtime: int = 0, applets: Sequence[str] = BUSYBOX_APPLETS
) -> Path:
    """An OCI layout of a base image made from this machine's busybox-static: /bin/busybox
    and the applets deploy.sh uses, in one gzipped layer (another ``gzip_mtime``: the same
    files in a layer blob of another digest; other ``applets``: a base that lacks some)."""
    busybox = Path(require("busybox", "busybox-static"))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in ("bin", "tmp"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            archive.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
        for applet in applets:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            archive.addfile(info)
    layer_tar = raw.getvalue()
    layer = gzip.compress(layer_tar, mtime=gzip_mtime)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "busybox-static"}],
    }
    config_bytes = json.dumps(config).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config_bytes),
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for blob in (layer, config_bytes, manifest):
        (blobs / _digest(blob).partition(":")[2]).write_bytes(blob)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _digest(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "test"},
            }
        ],
    }
    (folder / "index.json").write_text(json.dumps(index))
    return folder


def skopeo(*arguments: str) -> subprocess.CompletedProcess[str]:
    binary = require("skopeo", "skopeo")
    return subprocess.run(
        [binary, "--insecure-policy", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Fault:
    """What the proxy does to the next request that matches ``method`` (and ``path_part``):
    answer ``status`` itself, or forward ``drop_after`` bytes of the body and hang up."""

    method: str
    status: int | None = None
    drop_after: int | None = None
    path_part: str = ""
    retry_after: str | None = None


class FaultyProxy:
    """An HTTP proxy in front of a registry that misbehaves on cue: dropped connections
    half-way through an upload, 500s and 429s. Requests go through whole otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self.server = serve(self.forward)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and fault.path_part in path:
                    self.faults.remove(fault)
                    return fault
        return None

    def forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        fault = self._fault_for(method, path)
        self.seen.append((method, path, fault.status or -1 if fault else 0))
        if fault is not None and fault.status is not None:
            handler.rfile.read(length)
            handler.send_response(fault.status)
            if fault.retry_after is not None:
                handler.send_header("Retry-After", fault.retry_after)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        upstream = http.client.HTTPConnection(self.upstream, timeout=60)
        upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        body = _dechunked(handler.rfile) if chunked else b""
        for name, value in handler.headers.items():
            if chunked and name.lower() == "transfer-encoding":
                continue  # forwarded whole, with its length
            upstream.putheader(name, value)  # Host stays ours: Locations point back here
        if chunked:
            upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body if chunked else None)
        remaining = length
        limit = fault.drop_after if fault is not None else None
        sent = 0
        while remaining > 0:
            chunk = handler.rfile.read(min(1 << 16, remaining))
            if not chunk:
                break
            if limit is not None and sent + len(chunk) > limit:
                upstream.send(chunk[: limit - sent])
                upstream.close()  # the registry sees a body cut short
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            upstream.send(chunk)
            sent += len(chunk)
            remaining -= len(chunk)
        answer = upstream.getresponse()
        body = answer.read()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(body)
        upstream.close()


def _dechunked(stream: Any) -> bytes:
    """A chunked request body, whole (MLflow streams artifact uploads so)."""
    parts: list[bytes] = []
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline()


class TokenServer:
    """A registry token service (the Bearer flow of Docker Hub, GHCR and the others): it
    checks a user's password and signs a JWT for the scopes asked, with a key whose
    certificate the registry trusts. ``users`` empty: anyone gets pull and push."""

    issuer = "mlops-ci-tests"
    service = "test-registry"

    def __init__(self, folder: Path, users: dict[str, str]) -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.users = users
        self.requests: list[tuple[str | None, list[str]]] = []
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token")])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        self.bundle = folder / "token.pem"
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self.server = serve(self.answer)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def registry_auth(self) -> str:
        return (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {self.service}\n"
            f"    issuer: {self.issuer}\n    rootcertbundle: {self.bundle}\n"
        )

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        import base64
        import urllib.parse

        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        user = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                handler.send_response(401)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
        scopes = query.get("scope", [])
        self.requests.append((user, scopes))
        if self.users and user is None:
            scopes = []  # anonymous: a token that grants nothing
        body = json.dumps({"token": self._token(user or "", scopes)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _token(self, subject: str, scopes: list[str]) -> str:
        import base64
        import secrets

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        def encode(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + 300,
            "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access,
        }  # fmt: skip
        signing_input = (
            f"{encode(json.dumps(header).encode())}.{encode(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SparkConnectServer:
    """Spark's own Connect server (the one pyspark ships) in local mode on a free port of
    127.0.0.1, run from ``folder`` so its warehouse and logs stay there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        require("java", "default-jre-headless")
        try:
            import pyspark
        except ImportError:
            message = "pyspark is not installed (pip install 'mlops-ci[spark]')"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        home = Path(pyspark.__file__).parent
        jar = next(home.glob("jars/spark-connect_*.jar"))
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "connect.log"
        self.process = subprocess.Popen(
            [
                str(home / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[1]",
                "--driver-memory",
                "1g",
                "--jars",
                str(jar),
                *("--conf", "spark.ui.enabled=false"),
                *("--conf", "spark.driver.host=127.0.0.1"),
                *("--conf", "spark.driver.bindAddress=127.0.0.1"),
                *("--conf", "spark.connect.grpc.binding.address=127.0.0.1"),
                *("--conf", f"spark.connect.grpc.binding.port={self.port}"),
                *("--conf", "spark.sql.session.timeZone=UTC"),
            ],
            cwd=self.folder,
            env={**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(self.folder)},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Spark Connect server exited: {log.read_text()[-3000:]}")
            if "Spark Connect server started" in log.read_text(errors="replace"):
                return
            time.sleep(0.3)
        self.stop()
        pytest.fail(
            f"the Spark Connect server did not start within 120 s: {log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        _stop(self.process)
        self.process = None
