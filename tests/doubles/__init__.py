"""In-memory doubles of the ports (mlops_ci.ports), for fast tests of the use cases.

Each keeps what it was told in plain fields a test can read, and behaves as its adapter
does where a use case depends on it (idempotent tracking, leases on branch pushes, tags
that point at one commit). tests/doubles/test_contracts.py holds the record store and the
Vcs double to their real adapters on the same steps; mypy checks each against its port.
"""
