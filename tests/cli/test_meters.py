"""How far long steps are: a bar redrawn in place on a terminal, a plain line now and then
in a CI log; and the steps that feed them (a command, a data file, an image push)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from mlops_ci.cli import meters
from mlops_ci.cli.meters import PlainMeter, StreamMeters, TerminalMeter, meters_for
from tests.conftest import ENVIRON, CliRunner, commit, records_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_redrawn_and_cleared() -> None:
    stream, clock = Terminal(), Clock()
    meter = StreamMeters(stream, TerminalMeter, clock).start(
        "push 1.0.0 to acme/m", 200 * 2**20, "bytes"
    )
    meter.update(50 * 2**20)
    clock.now += 0.05
    meter.update(60 * 2**20)  # too soon: not drawn again
    clock.now += 0.2
    meter.update(100 * 2**20)
    meter.finish()
    frames = stream.getvalue().split("\r")
    assert frames[1] == (
        "push 1.0.0 to acme/m: [######------------------] 25% (50MiB of 200MiB), 0 s\x1b[K"
    )
    assert frames[2].startswith("push 1.0.0 to acme/m: [############------------] 50% (100MiB")
    assert frames[3] == "\x1b[K"  # cleared: the stage's own line follows
    assert "\n" not in stream.getvalue()


def test_a_ci_log_gets_a_plain_line_every_fifteen_seconds() -> None:
    stream, clock = io.StringIO(), Clock()
    meter = StreamMeters(stream, PlainMeter, clock).start("ingest 1.0.0, data/big.csv", unit="rows")
    for rows in range(0, 10_000_000, 250_000):
        clock.now += 1
        meter.update(rows, "a line\twith\x1b[31m control characters")
    meter.finish()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "mlops-ci: ingest 1.0.0, data/big.csv: 3,500,000 rows, 15 s; a line with [31m control "
        "characters",
        "mlops-ci: ingest 1.0.0, data/big.csv: 7,250,000 rows, 30 s; a line with [31m control "
        "characters",
    ]


def test_which_meter() -> None:
    assert meters_for(Terminal(), {}).kind is TerminalMeter
    assert meters_for(Terminal(), {"TERM": "dumb"}).kind is PlainMeter
    assert meters_for(io.StringIO(), {}).kind is PlainMeter


def test_a_long_build_command_is_never_silent_in_a_ci_log(
    cli: CliRunner, example_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meters, "EVERY", 0.3)
    manifest = example_copy / "mlops.yaml"
    script = (
        "import time, sys; "
        "[(print('epoch', n, flush=True), time.sleep(0.4)) for n in range(4)]; sys.exit(1)"
    )
    manifest.write_text(
        manifest.read_text().replace(
            "command: python train.py --data data/train.csv --out {artifacts}",
            f'command: python -c "{script}"',
        )
    )
    commit(example_copy, "a slow build")
    ran = cli("run", "-f", str(manifest), "--no-tracking", environ={**ENVIRON, "CI": "true"})
    assert ran.status == 1
    told = [line for line in ran.err.splitlines() if ", build.command: " in line]
    assert told, ran.err
    assert all(
        re.fullmatch(r"mlops-ci: build 1\.43\.14-rc\.1, build\.command: \d+ s; epoch \d", line)
        for line in told
    ), told


class Recorded:
    """Meters that keep what they were told."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int | None, str]] = []
        self.updates: dict[str, list[int | None]] = {}
        self.finished: list[str] = []

    def start(self, what: str, total: int | None = None, unit: str = "") -> Recorded.Meter:
        self.started.append((what, total, unit))
        self.updates[what] = []
        return Recorded.Meter(self, what)

    class Meter:
        def __init__(self, owner: Recorded, what: str) -> None:
            self.owner, self.what = owner, what

        def update(self, done: int | None = None, note: str = "") -> None:
            del note
            self.owner.updates[self.what].append(done)

        def finish(self) -> None:
            self.owner.finished.append(self.what)


def test_ingest_counts_the_rows_it_read(
    cli: CliRunner, example_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = Recorded()
    monkeypatch.setattr(meters, "meters_for", lambda err, environ: recorded)
    commit(example_copy, "feat: churn")
    ran = cli("ingest", "-f", str(example_copy / "mlops.yaml"), "--json", environ=ENVIRON)
    assert ran.status == 0, ran.err
    version = json.loads(ran.out)["version"]
    ingested = records_of(example_copy).read("churn-classifier", version, "ingest")
    assert ingested is not None
    rows = [data["rows"] for data in ingested.details["data"]]
    ingests = [what for what, _, unit in recorded.started if unit == "rows"]
    assert len(ingests) == len(rows)
    assert [recorded.updates[what][-1] for what in ingests] == rows
    assert recorded.finished == ingests
