"""Writing a card: what ``synthloom card`` does, and the one call each exporting command makes
at its end (:func:`export_card`, :func:`mix_card`).

A card is one file, written atomically. A README.md that synthloom did not write (no closing
marker) is never replaced by an export; ``synthloom card --out`` replaces what the user names.
A rewrite keeps the ``license`` and ``language`` the user filled in the card it replaces.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synthloom.atomic import write_text
from synthloom.card.assay import find_assay, read_assay
from synthloom.card.derived import mix_provenance
from synthloom.card.locate import Located, data_configs, locate, provenance_of
from synthloom.card.model import AssaySummary, DataConfig
from synthloom.card.render import LICENSE_PLACEHOLDER, MARKER, render_card
from synthloom.errors import InputError, SynthloomError
from synthloom.redact import redact_values

__all__ = ["CardResult", "export_card", "mix_card", "write_card"]


@dataclass(frozen=True)
class CardResult:
    """What was written: the card, the configs it declares, and the assay it quotes."""

    path: Path
    configs: tuple[DataConfig, ...]
    license_set: bool
    assay: AssaySummary | None
    recipes: tuple[str, ...]

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.configs)


def _front_matter(path: Path) -> dict[str, Any] | None:
    """The YAML header of an existing card, or None (no file, no header, not YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("---"):
        return None
    head = text[3:].split("\n---", 1)[0]
    try:
        data = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _kept(
    out: Path, license_id: str | None, language: Sequence[str]
) -> tuple[str | None, list[str]]:
    """The license and languages to write: given ones, else those of the card being replaced."""
    old = _front_matter(out) or {}
    if license_id is None:
        value = old.get("license")
        if isinstance(value, str) and value and value != LICENSE_PLACEHOLDER:
            license_id = value
    if not language:
        value = old.get("language")
        if isinstance(value, str):
            language = [value]
        elif isinstance(value, list):
            language = [str(v) for v in value]
    return license_id, list(language)


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise InputError(
            "is a folder; --out names the card file (e.g. README.md)", path=out, field="--out"
        )
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError("lies under a file; choose another --out", path=out, field="--out")
            break


def _publish(
    located: Located,
    out: Path,
    *,
    assay: Path | None,
    license_id: str | None,
    language: Sequence[str],
    pretty_name: str | None,
    search: Sequence[Path],
) -> CardResult:
    files = [f for c in located.data for f in c.files]
    summary = read_assay(assay, files) if assay is not None else find_assay(search, files)
    license_id, languages = _kept(out, license_id, language)
    name = pretty_name or _pretty_name(located, out)
    text = render_card(
        located.data,
        located.provenance,
        summary,
        license_id=license_id,
        language=languages,
        pretty_name=name,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    # The card holds no key by construction; this removes any key this process read, as a net.
    write_text(out, redact_values(text))
    return CardResult(
        path=out,
        configs=tuple(located.data),
        license_set=license_id is not None,
        assay=summary,
        recipes=tuple(p.recipe for p in located.provenance),
    )


def _pretty_name(located: Located, out: Path) -> str:
    recipes = " + ".join(p.recipe for p in located.provenance)
    folder = (located.run_dir or out.parent.resolve()).name or "dataset"
    return f"{folder} ({recipes} synthetic data)" if recipes else f"{folder} (synthetic data)"


def write_card(
    source: str | Path,
    out: str | Path,
    *,
    assay: str | Path | None = None,
    license_id: str | None = None,
    language: Sequence[str] = (),
    pretty_name: str | None = None,
) -> CardResult:
    """Write the dataset card of ``source`` (a run folder, an export or data folder, or a data
    file) to ``out``; ``assay`` is an assay folder to quote (else one is looked for)."""
    source, out = Path(source), Path(out)
    _check_out(out)
    located = locate(source, out.parent)
    if any(out.resolve() == f.resolve() for c in located.data for f in c.files):
        raise InputError(
            "is a data file of the card; name the card README.md", path=out, field="--out"
        )
    folder = source if source.is_dir() else source.parent
    search = [folder, *([located.run_dir] if located.run_dir else []), out.parent]
    return _publish(
        located,
        out,
        assay=Path(assay) if assay is not None else None,
        license_id=license_id,
        language=language,
        pretty_name=pretty_name,
        search=search,
    )


def _ours_or_absent(card: Path) -> bool:
    if not card.exists():
        return True
    try:
        return MARKER in card.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _export(folder: Path, build: Any) -> CardResult | None:
    """Run ``build`` (which writes the card) unless the folder holds a README.md of the user's;
    a card that cannot be written is one line on stderr, never a failed run."""
    card = folder / "README.md"
    # What a writer killed mid-write left (atomic.write_with's temporary file): a rerun tidies it.
    for leftover in folder.glob(f".{card.name}.tmp-*"):
        leftover.unlink(missing_ok=True)
    if not _ours_or_absent(card):
        print(
            f"synthloom: note: {card} was not written by synthloom; left as it is (write a card "
            f"with: synthloom card {folder} --out CARD.md)",
            file=sys.stderr,
        )
        return None
    try:
        result: CardResult = build(card)
    except (SynthloomError, OSError) as exc:
        print(
            f"synthloom: note: no dataset card written in {folder}: {exc}",
            file=sys.stderr,
        )
        return None
    return result


def export_card(folder: str | Path) -> CardResult | None:
    """The card of an export folder (``complete``'s stage folder, a LAB or Nemotron run's
    ``export/``, a curate folder), as ``folder/README.md``: the one call those commands make."""
    path = Path(folder)
    if not path.is_dir():
        return None
    return _export(path, lambda card: write_card(path, card))


def mix_card(
    folder: str | Path,
    config_path: str | Path,
    summary: Mapping[str, Any],
    *,
    run: str | Path | None = None,
) -> CardResult | None:
    """The card of a ``mix`` folder (which keeps no run.json): its provenance comes from the
    mixing YAML, the summary ``mix`` returned and the runs the YAML names."""
    path = Path(folder)

    def build(card: Path) -> CardResult:
        outputs = summary.get("outputs") or {}
        files = [Path(str(info["path"])) for _, info in sorted(outputs.items())]
        located = Located(data_configs([f for f in files if f.is_file()], path))
        located.provenance = [
            mix_provenance(
                Path(config_path),
                summary,
                path,
                provenance_of,
                default_run=Path(run) if run is not None else None,
            )
        ]
        return _publish(
            located,
            card,
            assay=None,
            license_id=None,
            language=(),
            pretty_name=None,
            search=[path],
        )

    return _export(path, build)
