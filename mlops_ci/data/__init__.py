"""Data sets at ingest: reading them in bounded memory, checking them, fingerprinting them.

Polars is the engine (benchmarks/ingest.py has the measurements behind the choice); it is
imported only by the ingest stage, so the other commands never pay for it.
"""

from __future__ import annotations

import os
import sys


def _load_numpy_with_one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core that spins on start-up (0.1 CPU-s of a
    2-core ingest, measured), though nothing here multiplies matrices. OpenBLAS reads its
    thread count once, when numpy loads; the variable is taken away again at once, so the
    model's own commands, which the stages start, never see it."""
    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


_load_numpy_with_one_blas_thread()
