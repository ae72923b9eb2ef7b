"""The PII stage: find personal data in every turn and redact, mask, hash or replace it.

Detection is :mod:`synthloom.pii`'s (the same detectors the assay's privacy section counts
with: checksum-validated cards, IBANs and SSNs, emails, phones, IPs, URLs, and names and
locations through Presidio when it is installed). This stage only applies them to records and
keeps the audit trail: which record, which turn, which type, where. The personal data itself is
never written to the changes file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from synthloom.curate.base import Stage, StageLog
from synthloom.errors import ConfigError

if TYPE_CHECKING:
    from synthloom.pii import PiiScanner

__all__ = ["PII_MODES", "PiiRedact"]

Record = dict[str, Any]
PiiMode = Literal["redact", "mask", "hash", "replace"]
NerMode = Literal["auto", "on", "off"]
PII_MODES: tuple[str, ...] = ("redact", "mask", "hash", "replace")
_DONE = {"redact": "redacted", "mask": "masked", "hash": "hashed", "replace": "replaced"}


class PiiRedact(Stage):
    """Rewrite every turn that holds personal data; the record keeps its id.

    ``types``: the PII types to look for (None: every type the scanner knows). ``roles``: which
    turns to scan (None: all). ``scanner``: a ready :class:`synthloom.pii.PiiScanner` to reuse
    (its types and NER setting then win).
    """

    name = "pii"

    def __init__(
        self,
        *,
        mode: PiiMode = "redact",
        types: Sequence[str] | None = None,
        ner: NerMode = "auto",
        roles: Iterable[str] | None = None,
        scanner: PiiScanner | None = None,
    ) -> None:
        if mode not in PII_MODES:
            raise ConfigError(
                f"unknown PII mode {mode!r}; choose {', '.join(PII_MODES)}", field="pii"
            )
        from synthloom.pii import PiiScanner

        self.mode: PiiMode = mode
        self.roles = frozenset(roles) if roles is not None else None
        self.scanner = scanner if scanner is not None else PiiScanner(types=types, ner=ner)
        self._counts: Counter[str] = Counter()
        self._records_with_pii = 0

    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        from synthloom.pii import redact

        for rec in records:
            spans: list[dict[str, Any]] = []
            messages = []
            for turn, message in enumerate(rec["messages"]):
                if self.roles is not None and message["role"] not in self.roles:
                    messages.append(message)
                    continue
                found = self.scanner.scan(message["content"])
                if not found:
                    messages.append(message)
                    continue
                spans.extend(
                    {"turn": turn, "type": m.type, "start": m.start, "end": m.end} for m in found
                )
                content = redact(message["content"], found, mode=self.mode)
                messages.append({**message, "content": content})
            if not spans:
                yield rec
                continue
            counts = Counter(s["type"] for s in spans)
            self._counts.update(counts)
            self._records_with_pii += 1
            log.change(
                rec, f"personal data {_DONE[self.mode]}", counts=dict(sorted(counts.items())), spans=spans
            )
            yield {**rec, "messages": messages}

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "records_with_pii": self._records_with_pii,
            "by_type": dict(sorted(self._counts.items())),
            "total": sum(self._counts.values()),
        }
