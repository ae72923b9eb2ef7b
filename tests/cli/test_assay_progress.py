"""``synthloom assay``'s progress lines on stderr: live on a terminal, plain in a pipe, none quiet.

The command runs as a real subprocess with its stderr on a pseudo-terminal (or a pipe), so
that the TTY check is the one a user's shell gives it.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.options import ProgressEvent, Sections
from synthloom.cli.progress import assay_line, assay_progress, plain_printer, short_duration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "chat"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Every section an instruction assay announces, in the words a user reads.
SECTIONS = ["reading records: 60 + 60", "embedding 60 + 60 texts", "privacy.pii", "diversity"]


def _small(tmp: Path) -> tuple[Path, Path]:
    """The first 60 records of each side of the chat example: the full run, a shorter wait."""
    paths = []
    for side in ("synthetic", "reference"):
        lines = (EXAMPLES / f"{side}.jsonl").read_text(encoding="utf-8").splitlines()[:60]
        path = tmp / f"{side}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def _assay(tmp: Path, *, tty: bool, quiet: bool) -> tuple[int, str, str]:
    """Run the CLI; returns (exit code, stdout, stderr as the terminal or pipe received it)."""
    syn, ref = _small(tmp)
    argv = [sys.executable, "-m", "synthloom", "assay", str(syn), "-r", str(ref)]
    argv += ["--embedder", "tfidf", "--ner", "off", "--out", str(tmp / "out")]
    argv += ["--quiet"] if quiet else []
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80"}
    with (tmp / "stdout.txt").open("wb") as stdout:
        if not tty:
            proc = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=120)
            err = proc.stderr
            code = proc.returncode
        else:
            main_fd, child_fd = os.openpty()
            child = subprocess.Popen(argv, env=env, stdout=stdout, stderr=child_fd)
            os.close(child_fd)
            chunks = []
            while True:
                try:
                    chunk = os.read(main_fd, 4096)
                except OSError:  # EIO: the child closed the terminal's last writer
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(main_fd)
            code = child.wait(timeout=120)
            err = b"".join(chunks)
    return code, (tmp / "stdout.txt").read_text(encoding="utf-8"), err.decode("utf-8", "replace")


def test_terminal_shows_a_live_line_and_each_finished_section(tmp_path: Path) -> None:
    code, out, err = _assay(tmp_path, tty=True, quiet=False)
    assert code == 0, err
    assert "\x1b[" in err  # the live line is drawn with control sequences
    text = ANSI.sub("", err)
    for section in SECTIONS:
        assert re.search(rf"assay: {re.escape(section)}\S* done in \d+\.\ds", text), section
    # Finished lines are plain text above the live line: no colour inside them.
    assert re.search(r"assay: report done in \d+\.\ds", err)
    # Inside the embedding step the live line shows its counts, its time and an ETA.
    drawn = re.findall(
        r"assay: embedding 60 \+ 60 texts +· ([\d,]+)/120 texts · (\d+s|\d+m\d\ds) · ETA (\S+)",
        text,
    )
    assert drawn, text
    assert all(
        0 < int(done) <= 120 and re.fullmatch(r"\d+s|\d+m\d\ds", eta) for done, _, eta in drawn
    )
    assert (tmp_path / "out" / "report.html").exists()
    assert "fidelity" in out.lower()  # the summary table still goes to stdout


def test_pipe_gets_plain_start_and_end_lines(tmp_path: Path) -> None:
    code, _, err = _assay(tmp_path, tty=False, quiet=False)
    assert code == 0, err
    assert "\x1b" not in err and "\r" not in err
    lines = err.splitlines()
    for section in SECTIONS:  # one start line and one end line each, in that order
        starts = [
            i
            for i, s in enumerate(lines)
            if s.startswith(f"assay: {section}") and s.endswith(" ...")
        ]
        ends = [
            i for i, s in enumerate(lines) if re.match(rf"assay: {re.escape(section)}.* done in", s)
        ]
        assert starts and len(starts) == len(ends) and starts[0] < ends[0], section
    assert lines[-1].startswith("assay: report done in")
    # A quick step prints no count lines: its start and end say enough.
    assert not [s for s in lines if "/120 texts" in s]


@pytest.mark.parametrize("tty", [pytest.param(True, id="terminal"), pytest.param(False, id="pipe")])
def test_quiet_prints_no_progress(tmp_path: Path, tty: bool) -> None:
    code, _, err = _assay(tmp_path, tty=tty, quiet=True)
    assert code == 0, err
    assert "assay:" not in ANSI.sub("", err)
    assert (tmp_path / "out" / "metrics.json").exists()


def test_python_callers_get_events_only_when_they_ask(tmp_path: Path) -> None:
    syn, ref = _small(tmp_path)
    events: list[ProgressEvent] = []
    run_assay(
        syn,
        ref,
        tmp_path / "told",
        AssayOptions(embedder="tfidf", ner="off", on_progress=events.append),
    )
    starts = [e.label for e in events if e.event == "start"]
    ends = {e.label: e.seconds for e in events if e.event == "end"}
    assert starts[0] == "reading records: 60 + 60" and starts[-1] == "report"
    # Every item that started also ended, after it, with a time; none is missing from metrics.
    assert set(starts) <= set(ends)
    assert all(s is not None and s >= 0 for s in ends.values())
    assert "embedding 60 + 60 texts" in ends
    # The embedding step told its counts between its start and its end: every text of both
    # sides, in order, with a growing time and an ETA once there is a rate.
    label = "embedding 60 + 60 texts"
    kinds = [(e.event, e.label) for e in events]
    first, last = kinds.index(("start", label)), kinds.index(("end", label))
    counts = [e for e in events[first + 1 : last] if e.event == "count"]
    assert counts and all(e.label == label and e.unit == "texts" for e in counts)
    assert [e.total for e in counts] == [120] * len(counts)
    done = [e.done or 0 for e in counts]
    assert done[0] == 0 and done[-1] == 120 and done == sorted(done)
    seconds = [e.seconds or 0.0 for e in counts]
    assert seconds == sorted(seconds)
    assert counts[0].eta is None and counts[-1].eta == 0
    assert all(e.eta is not None and e.eta >= 0 for e in counts[1:])
    # Each file is counted as it is read, before anything else is told.
    for side in ("synthetic", "reference"):
        read = [e for e in events if e.label == f"reading {side}.jsonl"]
        assert read and {e.event for e in read} == {"count"} and read[-1].done == 60
        assert all(e.total == 60 and e.unit == "records" for e in read)
    assert events[kinds.index(("start", "reading records: 60 + 60")) - 1].label == (
        "reading reference.jsonl"
    )
    # Counts belong to the running step only; the PII scan counts its messages too.
    running = None
    for e in events[kinds.index(("start", "reading records: 60 + 60")) :]:
        if e.event == "start":
            running = e.label
        elif e.event == "count":
            assert e.label == running
        else:
            running = None
    pii = [e for e in events if e.event == "count" and e.label == "privacy.pii"]
    assert pii and pii[-1].done == pii[-1].total and pii[-1].unit == "messages"


def test_a_failing_item_is_told_as_failed_and_recorded() -> None:
    events: list[ProgressEvent] = []
    sections = Sections(events.append)

    def broken() -> int:
        raise ValueError("no texts left after cleaning")

    assert sections.run("diversity.synthetic", broken) is None
    assert sections.run("bias", lambda: 3, label="bias of 60 texts") == 3
    assert [(e.event, e.label) for e in events] == [
        ("start", "diversity.synthetic"),
        ("failed", "diversity.synthetic"),
        ("start", "bias of 60 texts"),
        ("end", "bias of 60 texts"),
    ]
    assert sections.errors == {"diversity.synthetic": "ValueError: no texts left after cleaning"}
    assert set(sections.seconds) == {"diversity.synthetic", "bias"}  # keys stay the item names
    assert assay_line(ProgressEvent("failed", "bias", 1.26)) == "assay: bias failed after 1.3s"


def test_counts_reach_python_callers_with_a_rate_based_eta() -> None:
    events: list[ProgressEvent] = []
    sections = Sections(events.append)

    def step() -> None:
        on_count = sections.counter("messages")
        for done in (0, 100, 400, 1000):
            on_count(done, 1000)

    sections.run("privacy.pii", step)
    counts = [e for e in events if e.event == "count"]
    assert [(e.label, e.done, e.total, e.unit) for e in counts] == [
        ("privacy.pii", d, 1000, "messages") for d in (0, 100, 400, 1000)
    ]
    first, middle, last = counts[0], counts[2], counts[3]
    assert first.eta is None  # one point is no rate
    # Seconds left = what is left at the rate measured since the first count.
    assert middle.eta is not None and middle.seconds is not None and first.seconds is not None
    rate = 400 / (middle.seconds - first.seconds)
    assert middle.eta == pytest.approx(600 / rate, rel=0.05)
    assert last.eta == 0
    silent = Sections(None)
    silent.run("privacy.pii", lambda: silent.counter("messages")(5, 10))  # nobody listens


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        pytest.param(0.4, "0s", id="under-a-second"),
        pytest.param(41.2, "41s", id="seconds"),
        pytest.param(87, "1m27s", id="minutes"),
        pytest.param(3599.6, "1h00m", id="rounds-up-to-an-hour"),
        pytest.param(7500, "2h05m", id="hours"),
    ],
)
def test_durations_read_short(seconds: float, shown: str) -> None:
    assert short_duration(seconds) == shown


def test_pipe_prints_a_count_line_at_most_every_ten_seconds() -> None:
    out = io.StringIO()
    now = [0.0]
    printer = plain_printer(out, clock=lambda: now[0])
    label = "embedding 5,000 + 5,000 texts"
    printer(ProgressEvent("start", label))
    # One count a second for 35 s: lines at 10, 20 and 30 s, not 35.
    for second in range(36):
        now[0] = float(second)
        done = second * 250
        printer(
            ProgressEvent(
                "count",
                label,
                float(second),
                done=done,
                total=10_000,
                unit="texts",
                eta=None if second == 0 else (10_000 - done) / 250,
            )
        )
    printer(ProgressEvent("end", label, 35.0))
    lines = out.getvalue().splitlines()
    assert lines == [
        f"assay: {label} ...",
        f"assay: {label} · 2,500/10,000 texts · 10s · ETA 30s",
        f"assay: {label} · 5,000/10,000 texts · 20s · ETA 20s",
        f"assay: {label} · 7,500/10,000 texts · 30s · ETA 10s",
        f"assay: {label} done in 35.0s",
    ]


def test_a_long_label_gives_way_to_the_counts_and_the_eta(tmp_path: Path) -> None:
    main_fd, child_fd = os.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the writer closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    label = "embedding 1,000,000 + 1,000,000 texts"
    with os.fdopen(child_fd, "w", encoding="utf-8") as terminal:
        assert terminal.isatty()
        with assay_progress(False, terminal) as on_progress:
            assert on_progress is not None
            on_progress(ProgressEvent("start", label))
            for step in (1, 2):
                time.sleep(0.3)  # long enough for the live line to be drawn
                on_progress(
                    ProgressEvent(
                        "count",
                        label,
                        60.0 * step,
                        done=123_456 * step,
                        total=2_000_000,
                        unit="texts",
                        eta=3_700.0,
                    )
                )
            time.sleep(0.3)
            on_progress(ProgressEvent("end", label, 130.0))
    reader.join(timeout=10)
    os.close(main_fd)
    drawn = ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r", "\n").splitlines()
    counted = [line for line in drawn if "/2,000,000 texts" in line]
    assert counted and all(len(line) <= 80 for line in drawn)
    # The label is cut short (an ellipsis); the counts and the whole ETA stay.
    assert all(
        re.search(r"· [\d,]+/2,000,000 texts · (1m0\ds|2m0\ds) · ETA 1h0[01]m$", s) for s in counted
    )
    assert all("assay: embedding 1,000,000 + 1," in s and "… ·" in s for s in counted), counted
    assert any(s.endswith(f"assay: {label} done in 130.0s") for s in drawn)
