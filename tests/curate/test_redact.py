"""The PII stage over records: planted PII in many formats, look-alikes left alone, idempotence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from synthloom.curate import AuditWriter, PiiRedact
from synthloom.curate.base import run_stages
from synthloom.errors import InputError
from synthloom.pii import PiiScanner, luhn_valid
from synthloom.records import make_record

PLANTED = [
    ("EMAIL", "Write to jane.doe+lists@mail.example.org about it."),
    ("EMAIL", "Contact: OPS_team@corp-mail.co.uk"),
    ("PHONE", "Call +44 20 7946 0958 after six."),
    ("PHONE", "My number is (415) 555-0132."),
    ("CREDIT_CARD", "Card 4111 1111 1111 1111 expires soon."),
    ("CREDIT_CARD", "Pay with 5500-0000-0000-0004 please."),
    ("IBAN", "IBAN: GB82 WEST 1234 5698 7654 32"),
    ("IBAN", "Transfer to DE89370400440532013000 today."),
    ("US_SSN", "SSN 123-45-6789 on file."),
    ("IP_ADDRESS", "The server is at 192.168.10.24 behind NAT."),
    ("IP_ADDRESS", "Ping 2001:db8::8a2e:370:7334 now."),
    ("URL", "See https://internal.example.net/users/jane?id=7 for details."),
]

LOOK_ALIKES = [
    "Order number 4111 1111 1111 1112 shipped.",  # fails Luhn
    "Reference GB82 WEST 1234 5698 7654 33 is a typo.",  # IBAN checksum fails
    "SSN-like 000-12-3456 and 666-12-3456 are never issued.",
    "Version v1.2.3.4 and release 10.0.0.1 are versions.",
    "The year 2023, the value 3.14159 and 12345678 items.",
    "Octets 999.1.1.1 are not an address.",
    "Use an at sign like user at example dot com.",
]


def _records(texts: list[str]) -> list[dict[str, Any]]:
    return [
        make_record([{"role": "user", "content": t}, {"role": "assistant", "content": "ok"}])
        for t in texts
    ]


def _run(stage: PiiRedact, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    writer = AuditWriter()
    kept, stats = run_stages(records, [stage], writer)
    out = list(kept)
    assert stats[0].kept == len(records) and stats[0].dropped == 0
    return out, writer


def test_planted_pii_is_redacted_with_typed_placeholders() -> None:
    assert not luhn_valid("4111111111111112")
    records = _records([text for _, text in PLANTED])
    out, writer = _run(PiiRedact(mode="redact", ner="off"), records)
    for (kind, original), rec in zip(PLANTED, out, strict=True):
        content = rec["messages"][0]["content"]
        assert f"[{kind}]" in content, (kind, content)
        assert (
            rec["id"]
            == make_record(
                [{"role": "user", "content": original}, {"role": "assistant", "content": "ok"}]
            )["id"]
        )
    assert len(writer.changes) == len(PLANTED)
    for entry, (kind, _) in zip(writer.changes, PLANTED, strict=True):
        assert entry["stage"] == "pii" and entry["counts"] == {kind: 1}
        # The audit trail says where, never what.
        assert set(entry["spans"][0]) == {"turn", "type", "start", "end"}


def test_look_alikes_are_not_flagged() -> None:
    records = _records(LOOK_ALIKES)
    out, writer = _run(PiiRedact(mode="redact", ner="off"), records)
    assert writer.changes == []
    assert out == records


@pytest.mark.parametrize("mode", ["redact", "mask", "hash", "replace"])
def test_every_mode_removes_the_value_and_is_idempotent(mode: str) -> None:
    records = _records([text for _, text in PLANTED])
    stage = PiiRedact(mode=mode, ner="off")  # type: ignore[arg-type]
    once, writer = _run(stage, records)
    originals = ["4111 1111 1111 1111", "123-45-6789", "DE89370400440532013000"]
    if mode == "replace":
        # Reserved values (example.org mail, 555-01xx phones, documentation IPs) already are
        # the fakes replace writes, so they stay; every real-looking one is replaced.
        assert 6 <= len(writer.changes) < len(PLANTED)
    else:
        assert len(writer.changes) == len(PLANTED)
        originals.append("jane.doe+lists@mail.example.org")
    joined = "\n".join(r["messages"][0]["content"] for r in once)
    for value in originals:
        assert value not in joined
    twice, writer2 = _run(PiiRedact(mode=mode, ner="off"), once)  # type: ignore[arg-type]
    assert writer2.changes == []
    assert twice == once
    assert stage.summary()["total"] == sum(len(e["spans"]) for e in writer.changes)


def test_roles_and_types_limit_the_scan_and_bad_options_raise() -> None:
    rec = make_record(
        [
            {"role": "user", "content": "mail me at a.b@example.org"},
            {"role": "assistant", "content": "call +1 415 555 0132"},
        ]
    )
    out, _ = _run(PiiRedact(ner="off", roles=["assistant"]), [rec])
    assert out[0]["messages"][0]["content"] == "mail me at a.b@example.org"
    assert "[PHONE]" in out[0]["messages"][1]["content"]
    out, _ = _run(PiiRedact(ner="off", types=["EMAIL"]), [rec])
    assert "[EMAIL]" in out[0]["messages"][0]["content"]
    assert "+1 415 555 0132" in out[0]["messages"][1]["content"]
    with pytest.raises(InputError, match="unknown PII mode"):
        PiiRedact(mode="shred")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown PII type"):
        PiiRedact(types=["SHOE_SIZE"], ner="off")


@pytest.mark.slow
def test_names_and_locations_with_the_ner_model() -> None:
    scanner = PiiScanner(ner="auto")
    if not scanner.ner_available:
        pytest.skip("the optional 'pii' extra (Presidio + spaCy model) is not installed")
    records = _records(["Maria Gonzalez moved to Barcelona last spring with her brother."])
    out, writer = _run(PiiRedact(mode="redact", scanner=scanner), records)
    content = out[0]["messages"][0]["content"]
    assert "Maria Gonzalez" not in content and "[PERSON]" in content
    assert writer.changes[0]["counts"].get("PERSON") == 1


def _tool_record(arguments: str, result: str) -> dict[str, Any]:
    return make_record(
        [
            {"role": "user", "content": "Send Jane the Q3 numbers, please."},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "send_email", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "content": result, "tool_call_id": "call_1"},
            {"role": "assistant", "content": "Done, the numbers are on their way."},
        ],
        tools=[{"type": "function", "function": {"name": "send_email"}}],
    )


def test_personal_data_in_tool_call_arguments_and_results_is_redacted() -> None:
    email = "jane.doe@acme-mail.com"
    arguments = json.dumps({"to": email, "subject": "Q3 numbers"})
    rec = _tool_record(arguments, "Delivered; a copy went to +44 20 7946 0958.")
    (out,), writer = _run(PiiRedact(mode="redact", ner="off"), [rec])
    call = out["messages"][1]["tool_calls"][0]
    # Still a valid call with valid JSON arguments, minus the address.
    assert json.loads(call["function"]["arguments"]) == {"to": "[EMAIL]", "subject": "Q3 numbers"}
    assert call["id"] == "call_1" and call["function"]["name"] == "send_email"
    assert out["messages"][2]["content"] == "Delivered; a copy went to [PHONE]."
    assert out["messages"][2]["tool_call_id"] == "call_1"
    assert out["tools"] == rec["tools"] and out["id"] == rec["id"]
    spans = writer.changes[0]["spans"]
    start = arguments.index(email)
    assert {
        "turn": 1,
        "tool_call": 0,
        "type": "EMAIL",
        "start": start,
        "end": start + len(email),
    } in spans
    assert any(s["turn"] == 2 and s["type"] == "PHONE" for s in spans)
    # A second pass finds nothing new to change.
    (again,), writer2 = _run(PiiRedact(mode="redact", ner="off"), [out])
    assert again == out and writer2.changes == []
