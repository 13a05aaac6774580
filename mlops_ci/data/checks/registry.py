"""Every data check, keyed by its manifest key, in the order the report lists them. A new
check is one module with its CheckKind and one line here (and, for the manifest, its key
in the schema and its field in ``DataChecks``)."""

from __future__ import annotations

from mlops_ci.data.checks.balance import Balance
from mlops_ci.data.checks.base import CheckKind
from mlops_ci.data.checks.counts import MinRows, Unique
from mlops_ci.data.checks.pii import ForbiddenPii
from mlops_ci.data.checks.rows import Allowed, HashedPii, Labels, NotNull, Range

CHECKS: tuple[CheckKind, ...] = (
    MinRows(),
    NotNull(),
    Range(),
    Allowed(),
    Labels(),
    HashedPii(),
    Unique(),
    Balance(),
    ForbiddenPii(),
)
