"""Check that this environment runs the versions a user's install gets, and print them.

Users install with the README's first command, ``pip install -e '.[embed]'``. The test
environment adds extras (pii, ray, test, dev); if one of them pulled another version of a
package the users' install also has (sdmetrics pulling pandas 2 did), the suite would test
something users never run. This asks pip what the users' install resolves to today (a dry run,
nothing installed) and compares it with what is installed here.

    python .ci/check_versions.py            # in the test environment
    python .ci/check_versions.py --print    # only print the headline versions
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HEADLINE = ("pandas", "numpy", "pyarrow", "scipy", "scikit-learn", "torch", "sdmetrics")
USER_INSTALL = ".[embed]"


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _installed() -> dict[str, str]:
    return {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}


def headline(label: str) -> str:
    installed = _installed()
    parts = [f"{name} {installed[name]}" for name in HEADLINE if name in installed]
    return f"{label}: Python {sys.version.split()[0]}, " + ", ".join(parts)


def users_resolution(root: Path) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report),
                "-e",
                USER_INSTALL,
            ],
            cwd=root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        items = json.loads(report.read_text())["install"]
    return {_canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def main() -> int:
    label = sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else "versions"
    print(headline(label))
    if "--print" in sys.argv:
        return 0
    root = Path(__file__).resolve().parents[1]
    wanted = users_resolution(root)
    installed = _installed()
    wrong = [
        f"{name}: users get {version}, tests run {installed.get(name, 'nothing')}"
        for name, version in sorted(wanted.items())
        if name != "synthloom" and installed.get(name) != version
    ]
    if wrong:
        print("The test environment differs from the users' install (README's first command):")
        print("\n".join(f"  {line}" for line in wrong))
        return 1
    print(f"same versions as the users' install for all {len(wanted) - 1} of its packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
