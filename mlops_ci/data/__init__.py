"""Data sets at ingest: reading them in bounded memory, checking them, fingerprinting them.

Polars is the engine (benchmarks/ingest.py has the measurements behind the choice); it is
imported only by the ingest stage, so the other commands never pay for it.
"""
