"""Personal data in text: what the ingest stage's ``pii`` checks look for, value by value.

These are the reference rules; a vectorised engine may scan faster, but must find what
these find (its tests compare the two). Values found are only ever shown masked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from mlops_ci.core.settings import PiiKind

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# An international or North-American style number: 9 to 15 digits in groups, optionally
# with a leading + and country code; separators are spaces, dots, dashes or brackets.
PHONE = re.compile(
    r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?![\w.])",
    re.ASCII,
)
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])", re.ASCII)
IPV6 = re.compile(r"(?<![:\w])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![:\w])", re.ASCII)
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", re.ASCII)
HEX_DIGEST = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$")


# What a vectorised engine searches for first: for each kind, a pattern without look-around
# (so Rust's regex crate runs it too) that matches every text in which the rule above finds
# that kind. Only texts it matches go through the rules; tests hold the superset property.
PREFILTERS: dict[PiiKind, str] = {
    "email": r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]",
    "phone": r"[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){2,4}",
    "ip_address": (
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:"
    ),
    "card_number": r"(?:[0-9][ -]?){12,18}[0-9]",
}


def prefilter(kinds: tuple[PiiKind, ...]) -> str:
    """One pattern for all of ``kinds``."""
    return "|".join(f"(?:{PREFILTERS[kind]})" for kind in kinds)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number carries."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_email(text: str) -> bool:
    return EMAIL.search(text) is not None


def _has_phone(text: str) -> bool:
    for match in PHONE.finditer(text):
        if IPV4.fullmatch(match.group()):
            continue  # a dotted quad is an address, not a number to call
        digits = re.sub(r"\D", "", match.group())
        if 9 <= len(digits) <= 15 and not _is_card(digits):
            return True
    return False


def _has_ip(text: str) -> bool:
    for match in IPV4.finditer(text):
        if all(int(part) <= 255 for part in match.group().split(".")):
            return True
    for match in IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(match.group())
        except ValueError:
            continue
        return True
    return False


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _has_card(text: str) -> bool:
    return any(_is_card(re.sub(r"\D", "", m.group())) for m in CARD.finditer(text))


DETECTORS: dict[PiiKind, Callable[[str], bool]] = {
    "email": _has_email,
    "phone": _has_phone,
    "ip_address": _has_ip,
    "card_number": _has_card,
}


def found_kinds(text: str, kinds: tuple[PiiKind, ...]) -> list[PiiKind]:
    """Which of ``kinds`` appear in ``text``; a hex digest is a hashed value, not personal
    data, whatever digits it happens to hold."""
    if looks_hashed(text):
        return []
    return [kind for kind in kinds if DETECTORS[kind](text)]


def looks_hashed(value: str) -> bool:
    """A hex digest of sha1, sha256 or sha512 (either case): what a hashed identifier is."""
    return HEX_DIGEST.match(value) is not None


def mask(value: str) -> str:
    """A value shown without showing it: its first and last character and its length."""
    if len(value) <= 2:
        return "*" * len(value)
    return f"{value[0]}{'*' * min(len(value) - 2, 12)}{value[-1]} ({len(value)} characters)"


ALL_KINDS: tuple[PiiKind, ...] = ("email", "phone", "ip_address", "card_number")
_SHOWN_LENGTH = 40


def shown(value: object) -> str:
    """A value from the data as every message shows it: masked when it holds personal
    data of any kind, whichever check or reader found it; quoted and shortened when long."""
    text = value if isinstance(value, str) else str(value)
    if found_kinds(text, ALL_KINDS):
        return mask(text)
    quoted = repr(value)
    return quoted if len(quoted) <= _SHOWN_LENGTH else quoted[: _SHOWN_LENGTH - 3] + "..."


def scrubbed(text: str) -> str:
    """``text`` (a library's error, which may quote a value) with each piece of personal
    data in it masked."""
    for pattern in (EMAIL, CARD, IPV6, IPV4, PHONE):
        text = pattern.sub(_masked_if_personal, text)
    return text


def _masked_if_personal(match: re.Match[str]) -> str:
    found = match.group()
    return mask(found) if found_kinds(found, ALL_KINDS) else found
