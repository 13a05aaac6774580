"""ECDSA P-256 keys for image signatures, as cosign and containers/image use them: the
private key in PEM (PKCS#8 or SEC1, optionally encrypted with a password) from the
environment or a file, the public key in PEM (``cosign.pub``'s format) from a file.

Keys and passwords are secrets: no message here quotes them, and the caller registers
them with the log masker before anything is printed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.errors import UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

SIGNING_KEY = "MLOPS_CI_SIGNING_KEY"
SIGNING_KEY_FILE = "MLOPS_CI_SIGNING_KEY_FILE"
SIGNING_KEY_PASSWORD = "MLOPS_CI_SIGNING_KEY_PASSWORD"  # noqa: S105 - a variable's name
_MOST_KEY_BYTES = 64 << 10


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs, and the public key that checks what it signed."""

    private: EllipticCurvePrivateKey

    def sign(self, data: bytes) -> bytes:
        """An ASN.1 DER ECDSA signature of SHA-256(data), as cosign makes them."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.private.public_key())


@dataclass(frozen=True)
class PublicKey:
    key: EllipticCurvePublicKey

    def verifies(self, data: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def signing_key(environ: Mapping[str, str], on_secret: Callable[[str], None]) -> SigningKey:
    """The key named by MLOPS_CI_SIGNING_KEY (the PEM itself) or MLOPS_CI_SIGNING_KEY_FILE,
    with MLOPS_CI_SIGNING_KEY_PASSWORD when it is encrypted."""
    text = environ.get(SIGNING_KEY, "")
    source = SIGNING_KEY
    path = environ.get(SIGNING_KEY_FILE, "")
    if not text and path:
        source = f"{SIGNING_KEY_FILE}={path}"
        text = _read(Path(path), source, "the private key")
    if not text:
        raise UsageError(
            f"no signing key: set {SIGNING_KEY} to an ECDSA P-256 private key in PEM, or "
            f"{SIGNING_KEY_FILE} to its file (openssl ecparam -name prime256v1 -genkey "
            "-noout | openssl pkcs8 -topk8 -nocrypt makes one)"
        )
    for line in text.splitlines():
        if line.strip() and "-----" not in line:
            on_secret(line.strip())
    password = environ.get(SIGNING_KEY_PASSWORD, "")
    if password:
        on_secret(password)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_private_key(
            text.replace("\\n", "\n").encode(), password.encode() or None
        )
    except TypeError:  # encrypted without a password, or a password for a plain key
        raise UsageError(
            f"{source}: the key is encrypted and {SIGNING_KEY_PASSWORD} is not set, or it is "
            f"not encrypted and {SIGNING_KEY_PASSWORD} is; set it to match"
        ) from None
    except ValueError:
        raise UsageError(
            f"{source}: not a PEM private key, or the password is wrong; give an ECDSA "
            "P-256 key in PEM (PKCS#8 or SEC1)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise UsageError(f"{source}: the key is not ECDSA P-256; sigstore's verifiers want one")
    return SigningKey(key)


def public_key(path: Path) -> PublicKey:
    """The public key in ``path`` (PEM, as ``cosign.pub`` or ``openssl ec -pubout``)."""
    text = _read(path, str(path), "the public key")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError:
        raise UsageError(f"{path}: not a PEM public key; give the signing key's .pub") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise UsageError(f"{path}: the key is not ECDSA P-256")
    return PublicKey(key)


def _read(path: Path, source: str, what: str) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(_MOST_KEY_BYTES + 1)
    except OSError as error:
        raise UsageError(
            f"{source}: cannot be read ({error.strerror}); name {what}'s file"
        ) from None
    if len(data) > _MOST_KEY_BYTES:
        raise UsageError(f"{source}: larger than any key; name {what}'s file")
    return data.decode("utf-8", "replace")
