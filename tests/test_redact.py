"""Secrets out of texts: remembered key values, credential headers and bearer tokens."""

from __future__ import annotations

import json

import pytest

from synthloom.redact import REDACTED, redact, redact_values, remember_secret

KEY = "sk-proj-Zq81vN4tLr0aXe55mWc2"
remember_secret(KEY)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"Invalid header: Authorization: Bearer {KEY}", id="header-line"),
        pytest.param(json.dumps({"headers": {"Authorization": f"Bearer {KEY}"}}), id="json"),
        pytest.param(str({"headers": {"authorization": f"Bearer {KEY}"}}), id="python-repr"),
        pytest.param(json.dumps({"msg": json.dumps({"Authorization": KEY})}), id="escaped-json"),
        pytest.param(f"bad key {KEY[:10]}...{KEY[-4:]} and {KEY}", id="value-anywhere"),
    ],
)
def test_a_remembered_key_never_survives(text: str) -> None:
    out = redact(text)
    assert KEY not in out and REDACTED in out


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        pytest.param("x-api-key: abc123def456", "abc123def456", id="x-api-key"),
        pytest.param("GET /v1?api-key=9f8e7d6c5b4a&x=1", "9f8e7d6c5b4a", id="query-api-key"),
        pytest.param('{"api_key": "nv-Qq77Ww88Ee99"}', "nv-Qq77Ww88Ee99", id="api_key-field"),
        pytest.param("token Bearer eyJhbGciOiJIUzI1NiJ9.e30.x rejected", "eyJhbGci", id="bearer"),
        pytest.param(
            "Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw", id="proxy-basic"
        ),
    ],
)
def test_credential_headers_from_elsewhere_are_removed(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and REDACTED in out
    assert redact(out) == out  # idempotent: redacting twice changes nothing


def test_ordinary_text_and_placeholders_are_left_alone() -> None:
    remember_secret("EMPTY")  # what vLLM users often pass: too short to be a secret
    text = "The model `llama-3` does not exist. Field EMPTY is not allowed."
    assert redact(text) == text
    tutorial = "Send the header `Authorization: Bearer <token>` with each request."
    # Answers keep what they say about headers; only remembered values go.
    assert redact_values(tutorial) == tutorial
    assert redact_values(f"your key is {KEY}") == f"your key is {REDACTED}"
