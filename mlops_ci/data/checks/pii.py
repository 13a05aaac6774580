"""``pii.forbid``: personal data searched in every text column (hashed ones aside), per
distinct value where a column has few of them, else by a vectorised prefilter whose hits
the reference rules of ``core.pii`` confirm; every value shown is masked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from mlops_ci.core.pii import HEX_DIGEST, found_kinds, mask, prefilter
from mlops_ci.core.settings import PiiKind
from mlops_ci.data.checks.base import Aggregate, AggregateKind, BatchView, Setup
from mlops_ci.data.checks.outcome import (
    ROWS_SHOWN,
    CheckOutcome,
    counted,
    rows_text,
    scalar_text,
)
from mlops_ci.data.kernels import may_contain

_EXAMPLES = 3
_CACHE_LIMIT = 100_000
_DIGITS = b"0123456789"
# The bytes without which a rule of core.pii cannot match.
_PII_BYTES: dict[PiiKind, bytes] = {
    "email": b"@",
    "phone": _DIGITS,
    "ip_address": _DIGITS + b":",
    "card_number": _DIGITS,
}
_PII_NAMES: dict[PiiKind, str] = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "ip_address": "an IP address",
    "card_number": "a payment card number",
}

Hits = Sequence[tuple[str, list[PiiKind], int]]


class ForbiddenPii(AggregateKind):
    key = "pii"

    def aggregate(self, setup: Setup) -> Aggregate | None:
        pii = setup.checks.pii
        if pii is None or not pii.forbid:
            return None
        hashed = set(pii.hashed)
        columns = [c for c, kind in setup.schema.items() if kind == pl.String and c not in hashed]
        return _PiiSearch(pii.forbid, columns)


@dataclass
class PiiFinds:
    """What the search found of one kind: how many values, in which columns, and the
    first rows that hold one (row number, the value), in no particular order."""

    count: int = 0
    rows: list[tuple[int, str]] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)


class _PiiSearch:
    def __init__(self, kinds: tuple[PiiKind, ...], columns: list[str]) -> None:
        self.kinds = kinds
        self.columns = columns
        self.pattern = prefilter(kinds)
        self.bytes = bytes(sorted({b for kind in kinds for b in _PII_BYTES[kind]}))
        self.finds: dict[PiiKind, PiiFinds] = {kind: PiiFinds() for kind in kinds}
        self.by_value: dict[str, bool] = {}
        self.cache: dict[str, list[PiiKind]] = {}
        self.vouched: dict[tuple[object, ...], bool] = {}

    def add(self, batch: BatchView) -> None:
        for column in self.columns:
            if not self._vouched_for(batch, column):
                self._search(batch.frame.get_column(column), batch.offset)

    def _vouched_for(self, batch: BatchView, column: str) -> bool:
        """A column that holds only its allowed values, none of which is personal data,
        has nothing to search."""
        allowed = batch.only_allowed.get(column)
        if allowed is None:
            return False
        key = tuple(allowed)
        if key not in self.vouched:
            self.vouched[key] = not any(self._kinds(scalar_text(value)) for value in allowed)
        return self.vouched[key]

    def _search(self, values: pl.Series, offset: int) -> None:
        if not may_contain(values, self.bytes):
            return
        column = values.name
        if column not in self.by_value:
            distinct = values.n_unique()
            self.by_value[column] = distinct <= max(64, len(values) // 50)
        if self.by_value[column]:
            counts = values.drop_nulls().value_counts()
        else:
            suspects = values.filter(values.str.contains(self.pattern))
            if suspects.is_empty():
                return
            # A hex digest holds no personal data whatever digits it shows (core.pii
            # agrees); ruling digests out here spares the rules a column of hashes.
            suspects = suspects.filter(~suspects.str.contains(HEX_DIGEST.pattern))
            counts = suspects.value_counts()
        hits = []
        for text, count in counts.iter_rows():
            kinds = self._kinds(text)
            if kinds:
                hits.append((text, kinds, count))
        if hits:
            self._note(values, offset, hits)

    def _kinds(self, text: str) -> list[PiiKind]:
        kinds = self.cache.get(text)
        if kinds is None:
            kinds = found_kinds(text, self.kinds)
            if len(self.cache) < _CACHE_LIMIT:
                self.cache[text] = kinds
        return kinds

    def _note(self, values: pl.Series, offset: int, hits: Hits) -> None:
        for kind in self.kinds:
            texts = [text for text, kinds, _ in hits if kind in kinds]
            if not texts:
                continue
            finds = self.finds[kind]
            finds.count += sum(count for _, kinds, count in hits if kind in kinds)
            finds.columns.add(str(values.name))
            # Each column of a batch keeps its first rows: a later batch's rows come after
            # them all, so the first rows of the data set are among those kept.
            if len(finds.rows) < ROWS_SHOWN * len(self.columns):
                where = values.is_in(pl.Series(texts, dtype=pl.String).implode())
                where = where.arg_true().head(ROWS_SHOWN)
                finds.rows += [(offset + int(i) + 1, str(values[int(i)])) for i in where]

    def outcomes(self, rows: int) -> list[CheckOutcome]:
        return pii_outcomes(self.finds)

    def close(self) -> None:
        return None


def pii_outcomes(finds_by_kind: Mapping[PiiKind, PiiFinds]) -> list[CheckOutcome]:
    """One outcome per kind: the first rows that hold it, and the first few of their
    values, masked, as examples (whichever engine searched)."""
    found = []
    for kind, finds in finds_by_kind.items():
        if finds.count:
            first = sorted(finds.rows)
            shown = sorted({row for row, _ in first})[:ROWS_SHOWN]
            examples: list[str] = []
            for _, text in first:
                if len(examples) < _EXAMPLES and mask(text) not in examples:
                    examples.append(mask(text))
            message = (
                f"{counted(finds.count, 'value')} "
                f"{'holds' if finds.count == 1 else 'hold'} {_PII_NAMES[kind]} (in "
                f"{', '.join(sorted(finds.columns))}){rows_text(shown)}, such as "
                f"{', '.join(examples)}; remove or hash them before ingest"
            )
        else:
            shown = []
            message = f"no value holds {_PII_NAMES[kind]}"
        found.append(
            CheckOutcome(f"pii {kind}", None, "max", 0, finds.count, message, tuple(shown))
        )
    return found
