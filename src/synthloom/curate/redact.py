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
from typing import Any, Literal

from synthloom.curate.base import Stage, StageLog
from synthloom.errors import ConfigError
from synthloom.pii import REDACT_MODES, PiiScanner, RedactMode, redact

__all__ = ["PII_MODES", "PiiRedact"]

Record = dict[str, Any]
PiiMode = RedactMode
NerMode = Literal["auto", "on", "off"]
PII_MODES: tuple[str, ...] = REDACT_MODES
_DONE = {"redact": "redacted", "mask": "masked", "hash": "hashed", "replace": "replaced"}


class PiiRedact(Stage):
    """Rewrite every turn that holds personal data; the record keeps its id.

    ``types``: the PII types to look for (None: every type the scanner knows). ``roles``: which
    turns to scan (None: all). ``scanner``: a ready :class:`synthloom.pii.PiiScanner` to reuse
    (its types and NER setting then win). Records are scanned ``batch_size`` at a time.
    ``salt``: the secret mixed into ``hash`` and ``replace`` (the same salt gives the same token
    for the same value across runs; without one, hashed numbers can be recovered by brute force).
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
        batch_size: int = 256,
        salt: str = "",
    ) -> None:
        if mode not in PII_MODES:
            raise ConfigError(
                f"unknown PII mode {mode!r}; choose {', '.join(PII_MODES)}", field="pii"
            )
        self.mode: PiiMode = mode
        self._salt = salt  # a secret: kept out of summaries and logs
        self.batch_size = max(1, batch_size)
        self.roles = frozenset(roles) if roles is not None else None
        self.scanner = scanner if scanner is not None else PiiScanner(types=types, ner=ner)
        self._counts: Counter[str] = Counter()
        self._records_with_pii = 0

    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        batch: list[Record] = []
        for rec in records:
            batch.append(rec)
            if len(batch) >= self.batch_size:
                yield from self._process(batch, log)
                batch = []
        if batch:
            yield from self._process(batch, log)

    def _process(self, batch: list[Record], log: StageLog) -> Iterator[Record]:
        # One scan over every selected turn of the batch, so the NER model sees full batches.
        # A turn's pieces are its content (call -1) and the arguments of each of its tool calls:
        # an address or a phone number often travels as an argument.
        where = [
            (r, t, call)
            for r, rec in enumerate(batch)
            for t, message in enumerate(rec["messages"])
            if self.roles is None or message["role"] in self.roles
            for call in range(-1, len(message.get("tool_calls") or ()))
        ]
        texts = [_piece(batch[r]["messages"][t], call) for r, t, call in where]
        found_by_piece = dict(zip(where, self.scanner.iter_scan(texts), strict=True))
        for r, rec in enumerate(batch):
            spans: list[dict[str, Any]] = []
            messages = []
            for t, message in enumerate(rec["messages"]):
                changed = dict(message)
                for call in range(-1, len(message.get("tool_calls") or ())):
                    text = _piece(message, call)
                    # A match whose redaction leaves the text as it was (a placeholder or a
                    # fake from an earlier run) is not a change: that makes reruns idempotent.
                    found = [
                        m
                        for m in found_by_piece.get((r, t, call), [])
                        if redact(text, [m], mode=self.mode, salt=self._salt) != text
                    ]
                    if not found:
                        continue
                    where_in = {"turn": t} if call < 0 else {"turn": t, "tool_call": call}
                    spans.extend(
                        {**where_in, "type": m.type, "start": m.start, "end": m.end} for m in found
                    )
                    new_text = redact(text, found, mode=self.mode, salt=self._salt)
                    if call < 0:
                        changed["content"] = new_text
                    else:
                        calls = list(changed["tool_calls"])
                        fn = {**calls[call]["function"], "arguments": new_text}
                        calls[call] = {**calls[call], "function": fn}
                        changed["tool_calls"] = calls
                messages.append(changed if changed != message else message)
            if not spans:
                yield rec
                continue
            counts = Counter(s["type"] for s in spans)
            self._counts.update(counts)
            self._records_with_pii += 1
            log.change(
                rec,
                f"personal data {_DONE[self.mode]}",
                counts=dict(sorted(counts.items())),
                spans=spans,
            )
            yield {**rec, "messages": messages}

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "records_with_pii": self._records_with_pii,
            "by_type": dict(sorted(self._counts.items())),
            "total": sum(self._counts.values()),
        }


def _piece(message: dict[str, Any], call: int) -> str:
    """A turn's content (``call`` -1) or the arguments of its tool call number ``call``."""
    if call < 0:
        text: str = message["content"]
        return text
    arguments: str = message["tool_calls"][call]["function"]["arguments"]
    return arguments
