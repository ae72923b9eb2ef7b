"""The run directory: ``run.json`` (config, versions, per-stage status and accounting), the
response cache and one folder per stage.

``run.json`` is always replaced atomically (write a temporary file, rename), so a reader or a
resumed run never sees half of it. It never holds secrets: the API key lives only in the
environment variable it is read from.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from synthloom import __version__
from synthloom.errors import InputError

__all__ = ["RunDir"]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class RunDir:
    """A run directory on disk. ``created`` tells whether this process made it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.created = False

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def cache_path(self) -> Path:
        return self.path / "cache.sqlite"

    def stage_dir(self, stage: str) -> Path:
        """The stage's data folder: its OK records only, ready for a trainer's data loader."""
        return self.path / stage

    def aside_dir(self, kind: str, stage: str) -> Path:
        """Where a stage's ``rejects`` or ``failures`` go: beside its data folder, never in it
        (``datasets.load_dataset("parquet", data_dir=RUN/<stage>)`` reads every sub-folder).

        A run folder of the earlier layout (``<stage>/<kind>/``) is moved here on first use.
        """
        folder = self.path / kind / stage
        earlier = self.stage_dir(stage) / kind
        if earlier.is_dir() and not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            os.replace(earlier, folder)
        return folder

    def open(self) -> RunDir:
        """Create the directory (and run.json) if needed."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError("exists and is not a directory; choose another --out", path=self.path)
        if not self.path.exists():
            self.path.mkdir(parents=True)
            self.created = True
        if not self.run_json.exists():
            self.write(
                {
                    "synthloom_version": __version__,
                    "python": platform.python_version(),
                    "created_at": _now(),
                    "stages": {},
                }
            )
        return self

    def read(self) -> dict[str, Any]:
        if not self.run_json.exists():
            return {"stages": {}}
        try:
            data = json.loads(self.run_json.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(
                "is not valid JSON; restore it or use a new --out", path=self.run_json
            ) from exc
        if not isinstance(data, dict):
            raise InputError("must hold a JSON object; use a new --out", path=self.run_json)
        data.setdefault("stages", {})
        return data

    def write(self, data: dict[str, Any]) -> None:
        tmp = self.run_json.with_name(f"run.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.run_json)

    def stage(self, stage: str) -> dict[str, Any] | None:
        value = self.read()["stages"].get(stage)
        return value if isinstance(value, dict) else None

    def update_stage(self, stage: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the stage's entry and write run.json; returns the entry."""
        data = self.read()
        entry = data["stages"].setdefault(stage, {})
        entry.update(fields)
        entry["updated_at"] = _now()
        data["updated_at"] = entry["updated_at"]
        self.write(data)
        return dict(entry)

    def remove_if_created(self) -> bool:
        """Delete the directory if this process created it (used when a run never started)."""
        if self.created and self.path.exists():
            shutil.rmtree(self.path)
            return True
        return False
