"""The reference rules for personal data, on values a data set really holds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.core.pii import (
    PREFILTERS,
    found_kinds,
    looks_hashed,
    luhn_valid,
    mask,
    prefilter,
    scrubbed,
    shown,
)

ALL = ("email", "phone", "ip_address", "card_number")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("contact jane.doe+churn@example.co.uk today", ["email"]),
        ("+44 20 7946 0958", ["phone"]),
        ("(555) 123-4567 ext", ["phone"]),
        ("call 555.123.4567", ["phone"]),
        ("+1-202-555-0143", ["phone"]),
        ("from 192.168.10.254", ["ip_address"]),
        ("2001:db8:85a3::8a2e:370:7334", ["ip_address"]),
        ("::1", ["ip_address"]),
        ("card 4111 1111 1111 1111", ["card_number"]),
        ("5500-0000-0000-0004", ["card_number"]),
        ("4111111111111111", ["card_number"]),
        ("mail a@b.io from 10.0.0.1", ["email", "ip_address"]),
    ],
)
def test_personal_data_is_found(text: str, kinds: list[str]) -> None:
    assert found_kinds(text, ALL) == kinds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25",
        "1.43.13",
        "0.243747",
        "10:08:16",
        "plan pro",
        "12345",
        "999.1.1.1",
        "4111 1111 1111 1112",
        "churn-classifier@1.44.0-rc.1",
        "v1.2.3.4.5",
        "a:b:c",
        "088b25fcb961a0936cbf90cf5e6beafb134cfe5547efa60d62e1cc39831316e1",
        "user@localhost",
    ],
)
def test_ordinary_values_are_not_personal_data(text: str) -> None:
    assert found_kinds(text, ALL) == []  # type: ignore[arg-type]


def test_only_the_asked_kinds_are_looked_for() -> None:
    assert found_kinds("a@b.io 10.0.0.1", ("ip_address",)) == ["ip_address"]


@given(st.lists(st.integers(0, 9), min_size=12, max_size=18))
def test_luhn_check_digit_always_validates(digits: list[int]) -> None:
    body = "".join(map(str, digits))
    check = next(d for d in range(10) if luhn_valid(body + str(d)))
    assert luhn_valid(body + str(check))
    assert not luhn_valid(body + str((check + 1) % 10))


def test_hashed_identifiers() -> None:
    assert looks_hashed("a" * 64)
    assert looks_hashed("0" * 40)
    assert not looks_hashed("customer-000123")
    assert looks_hashed("A" * 64)  # a digest in capitals is still a digest
    assert not looks_hashed("g" * 64)
    assert not looks_hashed("a" * 63)


def test_values_are_masked() -> None:
    assert mask("jane.doe@example.com") == "j************m (20 characters)"
    assert mask("ab") == "**"
    assert "jane" not in mask("jane.doe@example.com")


pii_texts = st.text(
    alphabet=st.sampled_from(list("0123456789abcxyzABF@.:-+() _%")), min_size=0, max_size=40
)


@settings(max_examples=2000, deadline=None)
@given(pii_texts)
def test_each_prefilter_matches_whatever_its_rule_finds(text: str) -> None:
    for kind in PREFILTERS:
        if found_kinds(text, (kind,)):
            assert re.search(PREFILTERS[kind], text), (kind, text)
            assert re.search(prefilter(("email", kind)), text)


def test_known_values_pass_the_prefilters() -> None:
    for kind, text in [
        ("email", "a.b@example.org"),
        ("phone", "(020) 7946-0958"),
        ("phone", "+1 415 555 2671"),
        ("ip_address", "::ffff:10.0.0.1"),
        ("ip_address", "fe80::1"),
        ("card_number", "4111-1111-1111-1111"),
    ]:
        assert found_kinds(text, (kind,)) == [kind], text  # type: ignore[arg-type]
        assert re.search(PREFILTERS[kind], text)  # type: ignore[index]


def test_a_hex_digest_holds_no_personal_data() -> None:
    digest = "ab4111111111111111cd" + "0" * 44
    assert found_kinds(digest, ("card_number", "phone")) == []


@pytest.mark.parametrize(
    "value",
    ["alice.secret@example.com", "+44 20 7946 0958", "10.1.2.3", "4111 1111 1111 1111", 5551234567],
)
def test_a_value_shown_in_a_message_is_masked_whatever_kind_it_holds(value: object) -> None:
    text = shown(value)
    assert str(value) not in text
    assert text == mask(str(value))


def test_an_ordinary_value_is_shown_quoted_and_short() -> None:
    assert shown("north") == "'north'"
    assert shown(3) == "3"
    assert shown("x" * 100) == "'" + "x" * 36 + "..."


def test_personal_data_inside_a_librarys_error_is_masked() -> None:
    error = "Conversion Error: Could not convert string 'alice.secret@example.com' to INT32"
    text = scrubbed(error)
    assert "alice.secret" not in text
    assert text.startswith("Conversion Error: Could not convert string 'a")
    assert text.endswith(" (24 characters)' to INT32")
    assert scrubbed("row 12 of 40 holds 1.5") == "row 12 of 40 holds 1.5"
