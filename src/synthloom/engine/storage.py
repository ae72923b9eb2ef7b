"""Run storage for the Ray executor: a local or shared-filesystem path, or an object store.

A location is either a path (``runs/x``, ``/mnt/shared/runs/x``, ``file:///...``) or an fsspec
URL (``s3://bucket/runs/x``, ``gs://...``, ``az://...``; the protocol's package, such as
``s3fs``, must be installed on every node, and its credentials come from the environment or the
usual config files of that package, never from synthloom). Paths are used directly; for an
object store, whole files are uploaded and downloaded (an object store has no rename and no
partial writes, so each file is written once, whole, which makes it appear atomically).

:func:`workspace` gives a shard a local folder standing for its folder in the storage,
:func:`driver_mirror` gives the driver a local copy of the run and :class:`MirroredRunDir` a
local run.json uploaded at every write; on a path they are the real folders. The sharded-job
driver (:mod:`synthloom.engine.jobs`) runs every shard in a workspace; each job says what else
goes where.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synthloom.engine.rundir import RunDir
from synthloom.errors import InputError, MissingDependencyError

__all__ = [
    "CacheUploader",
    "MirroredRunDir",
    "RunStorage",
    "check_output_dir",
    "driver_mirror",
    "is_url",
    "refuse_url",
    "workspace",
]


def is_url(location: str | Path) -> bool:
    """True for ``proto://...`` locations other than ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def refuse_url(value: str | Path, field: str = "--out", *, local_executor: bool = False) -> None:
    """One-line InputError for an object-store URL where only a path works.

    Typer turns ``s3://b/x`` into the path ``s3:/b/x``, so this looks for ``scheme:/``.
    ``local_executor``: the command keeps its run in an object store on Ray, not locally.
    """
    text = str(value)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", text) and not text.startswith("file:"):
        shown = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", r"\1://", text)
        if local_executor:
            raise InputError(
                f"{shown}: an object-store location needs the Ray executor (--executor ray, "
                "or executor: ray in the pipeline); the local executor writes to a path",
                field=field,
            )
        raise InputError(
            f"{shown} looks like an object-store URL; this command reads and writes paths (only "
            "the runs of complete, generate and nemotron on --executor ray can live in an "
            "object store): use a path, on a cluster one on a filesystem every node mounts",
            field=field,
        )


def check_output_dir(location: str | Path, field: str = "--out") -> None:
    """One-line InputError unless ``location`` is, or can become, a folder we can write.

    Every command calls this before it reads or computes anything, so that a mistyped ``--out``
    (a file, a path under a file, ``/proc``, a read-only or full filesystem) costs nothing and
    leaves earlier results alone. Permission bits are not trusted (root passes every
    ``os.access`` check, and ``/proc`` refuses new entries whatever its bits say): a hidden
    folder is created and removed in the nearest existing ancestor instead. An object-store URL
    is left to :class:`RunStorage`.
    """
    if is_url(location):
        return
    path = Path(str(location).removeprefix("file://"))
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{path} is a file, not a folder; give a folder to write into (or move the file)",
            field=field,
        )
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(
            f"{path} is under {existing}, which is a file, not a folder; give a folder path",
            field=field,
        )
    try:
        probe = tempfile.mkdtemp(prefix=".synthloom-write-check-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"cannot write {path}: making a folder in {existing} fails ({reason}); choose a "
            "folder you can write to",
            field=field,
        ) from None


class RunStorage:
    """Files under one root, on a local filesystem or an fsspec filesystem.

    ``field`` names the option the location came from, for one-line errors.
    """

    def __init__(self, location: str | Path, *, field: str = "--out") -> None:
        self.location = str(location)
        self.field = field
        if not is_url(self.location):
            path = self.location.removeprefix("file://")
            self.fs: Any = None
            self.root = str(Path(path))
            return
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec comes with the ray extra
            raise MissingDependencyError("object-store run storage", "fsspec", "ray") from exc
        try:
            self.fs, root = fsspec.core.url_to_fs(self.location)
        except ImportError as exc:
            protocol = self.location.split("://", 1)[0]
            raise InputError(
                f"{self.location}: the '{protocol}' protocol needs its fsspec package ({exc}); "
                "install it on every node (for s3://, pip install s3fs)",
                field=field,
            ) from None
        except ValueError as exc:
            raise InputError(f"{self.location}: {exc}", field=field) from None
        self.root = str(root).rstrip("/")

    # ------------------------------------------------------------------ naming

    @property
    def is_local(self) -> bool:
        """True when the root is a path of this machine's filesystem (local or shared)."""
        return self.fs is None

    def local(self, *parts: str) -> Path:
        """The path of ``parts`` on a local root (only for ``is_local``)."""
        if self.fs is not None:
            raise RuntimeError("not a local storage")
        return Path(self.root, *parts)

    def key(self, *parts: str) -> str:
        """The filesystem path of ``parts`` (for fsspec calls)."""
        return "/".join([self.root, *parts])

    def url(self, *parts: str) -> str:
        """``parts`` as the user would write it: a path, or ``proto://...``."""
        if self.fs is None:
            return str(Path(self.root, *parts))
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{self.key(*parts)}"

    def pyarrow_filesystem(self) -> Any:
        """This storage as a ``pyarrow.fs.FileSystem`` (what Ray Data's readers take)."""
        import pyarrow.fs as pafs

        if self.fs is None:
            return pafs.LocalFileSystem()
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def _fail(self, what: str, parts: tuple[str, ...], exc: BaseException) -> InputError:
        return InputError(
            f"cannot {what} {self.url(*parts)}: {type(exc).__name__}: {exc}".splitlines()[0]
            + "; check the location and its credentials",
            field=self.field,
        )

    # ------------------------------------------------------------------ reading

    def exists(self, *parts: str) -> bool:
        if self.fs is None:
            return self.local(*parts).exists()
        try:
            return bool(self.fs.exists(self.key(*parts)))
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("reach", parts, exc) from exc

    def read_json(self, *parts: str) -> dict[str, Any] | None:
        """The JSON object in ``parts``, or None if there is no such file."""
        try:
            if self.fs is None:
                path = self.local(*parts)
                if not path.exists():
                    return None
                text = path.read_text(encoding="utf-8")
            else:
                key = self.key(*parts)
                self.fs.invalidate_cache(key)  # another node may have written it meanwhile
                if not self.fs.exists(key):
                    return None
                text = self.fs.cat_file(key).decode("utf-8")
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("read", parts, exc) from exc
        data = json.loads(text)
        return data if isinstance(data, dict) else None

    def size(self, *parts: str) -> int:
        if self.fs is None:
            return self.local(*parts).stat().st_size
        return int(self.fs.info(self.key(*parts))["size"])

    def get(self, parts: tuple[str, ...], target: Path) -> bool:
        """Copy ``parts`` to the local file ``target``; False if there is no such file."""
        try:
            if self.fs is None:
                source = self.local(*parts)
                if not source.exists():
                    return False
                shutil.copyfile(source, target)
                return True
            key = self.key(*parts)
            if not self.fs.exists(key):
                return False
            self.fs.get_file(key, str(target))
            return True
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("download", parts, exc) from exc

    # ------------------------------------------------------------------ writing

    def makedirs(self, *parts: str) -> None:
        """Create the folder ``parts`` (object stores have no folders: nothing to do)."""
        if self.fs is None:
            self.local(*parts).mkdir(parents=True, exist_ok=True)

    def write_json(self, data: dict[str, Any], *parts: str) -> None:
        """Write ``data`` to ``parts`` so that a reader sees the old file or the new one."""
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        try:
            if self.fs is None:
                path = self.local(*parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
            else:
                self.fs.pipe_file(self.key(*parts), text.encode("utf-8"))
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("write", parts, exc) from exc

    def put(self, source: Path, *parts: str) -> None:
        """Copy the local file ``source`` to ``parts``, appearing whole (atomically)."""
        try:
            if self.fs is None:
                target = self.local(*parts)
                if source.resolve() == target.resolve():
                    return
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
                shutil.copyfile(source, tmp)
                tmp.replace(target)
            else:
                self.fs.put_file(str(source), self.key(*parts))
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("upload to", parts, exc) from exc

    def write_parquet(self, records: list[dict[str, Any]], *parts: str) -> None:
        """Write records as a Parquet file at ``parts``, atomically."""
        from synthloom.records import write_parquet

        if self.fs is None:
            target = self.local(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            write_parquet(records, tmp)
            tmp.replace(target)
            return
        with tempfile.TemporaryDirectory(prefix="synthloom-") as scratch:
            tmp = Path(scratch) / parts[-1]
            write_parquet(records, tmp)
            self.put(tmp, *parts)

    def remove(self, *parts: str) -> None:
        """Remove the file ``parts`` if it exists."""
        try:
            if self.fs is None:
                self.local(*parts).unlink(missing_ok=True)
            else:
                key = self.key(*parts)
                if self.fs.exists(key):
                    self.fs.rm_file(key)
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("remove", parts, exc) from exc

    # ------------------------------------------------------------------ folders

    def files(self, *parts: str) -> list[str]:
        """Every file under the folder ``parts``, as paths relative to it (``a/b.json``)."""
        try:
            if self.fs is None:
                base = self.local(*parts)
                if not base.is_dir():
                    return []
                found_paths = (p for p in base.rglob("*") if p.is_file())
                return sorted(p.relative_to(base).as_posix() for p in found_paths)
            base_key = self.key(*parts)
            self.fs.invalidate_cache()
            if not self.fs.exists(base_key):
                return []
            found = self.fs.find(base_key)
        except Exception as exc:  # fsspec backends raise their own types
            raise self._fail("list", parts, exc) from exc
        prefix = base_key.rstrip("/") + "/"
        return sorted(k[len(prefix) :] for k in found if k.startswith(prefix))

    def pull(
        self, parts: tuple[str, ...], target: Path, skip: Callable[[str], bool] | None = None
    ) -> None:
        """Download every file under the folder ``parts`` into ``target`` (the same layout)."""
        for rel in self.files(*parts):
            if skip is not None and skip(rel):
                continue
            local = target / rel
            local.parent.mkdir(parents=True, exist_ok=True)
            self.get((*parts, *rel.split("/")), local)

    def push(
        self, source: Path, parts: tuple[str, ...], skip: Callable[[str], bool] | None = None
    ) -> None:
        """Upload every file under the local folder ``source`` to the folder ``parts``."""
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            rel = path.relative_to(source).as_posix()
            if path.name.endswith(".tmp") or (skip is not None and skip(rel)):
                continue
            self.put(path, *parts, *rel.split("/"))


def _snapshot_cache(cache: Path, target: Path) -> bool:
    """A consistent copy of an SQLite file (SQLite's backup API; safe while it is written)."""
    if not cache.exists():
        return False
    target.unlink(missing_ok=True)
    source = sqlite3.connect(cache)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return True


class CacheUploader:
    """Uploads a running shard's SQLite cache to the object store every ``interval`` seconds
    (a consistent snapshot each time), and once more by :meth:`upload`."""

    def __init__(
        self, cache: Path, storage: RunStorage, parts: tuple[str, ...], interval: float
    ) -> None:
        self.cache = cache
        self.storage = storage
        self.parts = parts
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cache-upload", daemon=True)
        self._lock = threading.Lock()

    def upload(self) -> None:
        with self._lock:
            snapshot = self.cache.with_name(self.cache.stem + ".upload.sqlite")
            if _snapshot_cache(self.cache, snapshot):
                self.storage.put(snapshot, *self.parts)
                snapshot.unlink(missing_ok=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.upload()
            except (OSError, sqlite3.Error, InputError):
                continue  # the next tick (or the final upload) tries again

    def __enter__(self) -> CacheUploader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def workspace(
    storage: RunStorage,
    parts: tuple[str, ...],
    *,
    cache_sync_s: float = 30.0,
    push: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """A local folder that stands for the storage folder ``parts`` while a shard runs in it.

    On a path storage it is that folder itself. On an object store it is a scratch folder,
    filled first with the folder's files; its ``cache.sqlite`` is uploaded every
    ``cache_sync_s`` seconds and once more at the end (also when the block fails, so no stored
    answer is lost); when the block succeeds every other file for which ``push(relative path)``
    is true (all by default) is uploaded, then ``done.json`` last. ``done.json`` is removed on
    entry: a shard being run again is not done.
    """
    storage.remove(*parts, "done.json")
    if storage.is_local:
        folder = storage.local(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    scratch = Path(tempfile.mkdtemp(prefix="synthloom-shard-"))
    try:
        folder = scratch / "shard"
        folder.mkdir()
        storage.pull(parts, folder)
        uploader = CacheUploader(
            folder / "cache.sqlite", storage, (*parts, "cache.sqlite"), cache_sync_s
        )
        with uploader:
            try:
                yield folder
            finally:
                uploader.upload()
        storage.push(
            folder,
            parts,
            skip=lambda rel: (
                rel in ("cache.sqlite", "done.json") or (push is not None and not push(rel))
            ),
        )
        if (folder / "done.json").exists():
            storage.put(folder / "done.json", *parts, "done.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def driver_mirror(
    storage: RunStorage,
    *,
    skip_pull: Callable[[str], bool] | None = None,
    skip_push: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """The run folder as the driver works on it: the folder itself on a path storage; on an
    object store a local copy (``skip_pull`` files left out), uploaded back when the block
    ends, however it ends (``skip_push`` files left out), so run.json records how it ended."""
    if storage.is_local:
        yield storage.local()
        return
    scratch = Path(tempfile.mkdtemp(prefix="synthloom-run-"))
    try:
        mirror = scratch / "run"
        mirror.mkdir()
        storage.pull((), mirror, skip=skip_pull)
        try:
            yield mirror
        finally:
            storage.push(mirror, (), skip=skip_push)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class MirroredRunDir(RunDir):
    """The run.json of a run on an object store, kept in the local folder ``folder`` and
    uploaded at every write (so the store always says how the run stands)."""

    def __init__(self, storage: RunStorage, folder: str | Path) -> None:
        super().__init__(folder)
        self.path.mkdir(parents=True, exist_ok=True)
        self.storage = storage
        storage.get(("run.json",), self.run_json)

    def write(self, data: dict[str, Any]) -> None:
        super().write(data)
        self.storage.put(self.run_json, "run.json")
