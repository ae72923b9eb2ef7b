"""``synthloom assay``'s progress lines on stderr: live on a terminal, plain in a pipe, none quiet.

The command runs as a real subprocess with its stderr on a pseudo-terminal (or a pipe), so
that the TTY check is the one a user's shell gives it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.options import Sections
from synthloom.cli.progress import assay_line

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


@pytest.mark.parametrize("tty", [pytest.param(True, id="terminal"), pytest.param(False, id="pipe")])
def test_quiet_prints_no_progress(tmp_path: Path, tty: bool) -> None:
    code, _, err = _assay(tmp_path, tty=tty, quiet=True)
    assert code == 0, err
    assert "assay:" not in ANSI.sub("", err)
    assert (tmp_path / "out" / "metrics.json").exists()


def test_python_callers_get_events_only_when_they_ask(tmp_path: Path) -> None:
    syn, ref = _small(tmp_path)
    events: list[tuple[str, str, float | None]] = []
    run_assay(
        syn,
        ref,
        tmp_path / "told",
        AssayOptions(
            embedder="tfidf",
            ner="off",
            on_progress=lambda e, label, s: events.append((e, label, s)),
        ),
    )
    starts = [label for e, label, _ in events if e == "start"]
    ends = {label: s for e, label, s in events if e == "end"}
    assert starts[0] == "reading records: 60 + 60" and starts[-1] == "report"
    # Every item that started also ended, after it, with a time; none is missing from metrics.
    assert set(starts) <= set(ends)
    assert all(s is not None and s >= 0 for s in ends.values())
    assert "embedding 60 + 60 texts" in ends


def test_a_failing_item_is_told_as_failed_and_recorded() -> None:
    events: list[tuple[str, str, float | None]] = []
    sections = Sections(lambda e, label, s: events.append((e, label, s)))

    def broken() -> int:
        raise ValueError("no texts left after cleaning")

    assert sections.run("diversity.synthetic", broken) is None
    assert sections.run("bias", lambda: 3, label="bias of 60 texts") == 3
    assert [(e, label) for e, label, _ in events] == [
        ("start", "diversity.synthetic"),
        ("failed", "diversity.synthetic"),
        ("start", "bias of 60 texts"),
        ("end", "bias of 60 texts"),
    ]
    assert sections.errors == {"diversity.synthetic": "ValueError: no texts left after cleaning"}
    assert set(sections.seconds) == {"diversity.synthetic", "bias"}  # keys stay the item names
    assert assay_line("failed", "bias", 1.26) == "assay: bias failed after 1.3s"
