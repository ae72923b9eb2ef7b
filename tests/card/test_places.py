"""What a card may show of endpoints, remotes, paths, sizes and reject reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.card import size_category
from synthloom.card.places import describe_endpoint, public_url, shown_path
from synthloom.card.settings import setting_rows
from synthloom.card.sources import reason_kind


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://127.0.0.1:8000/v1", "machine that ran the job", id="loopback"),
        pytest.param("http://localhost:11434/v1", "machine that ran the job", id="ollama"),
        pytest.param("http://[::1]:8080/v1", "machine that ran the job", id="ipv6-loopback"),
        pytest.param("http://10.2.3.4:8000/v1", "private network", id="private-ip"),
        pytest.param("http://vllm-lb:8000/v1", "private network", id="one-label-host"),
        pytest.param("http://gpu7.cluster.local/v1", "private network", id="internal-domain"),
        pytest.param(
            "https://integrate.api.nvidia.com/v1",
            "hosted API at integrate.api.nvidia.com",
            id="nim",
        ),
        pytest.param(
            "https://bob:s3cr3t-pass@API.Example.com:8443/v1?api-key=tok-123#frag",
            "hosted API at api.example.com",
            id="credentials-and-query",
        ),
        pytest.param(None, "not recorded", id="none"),
    ],
)
def test_an_endpoint_is_described_without_its_address_or_secrets(
    url: str | None, expected: str
) -> None:
    shown = describe_endpoint(url)
    assert expected in shown
    for secret in ("s3cr3t", "bob", "tok-123", "8443", "127.0.0.1", "10.2.3.4", "vllm-lb", "frag"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        pytest.param(
            "https://ann:ghp_abc123@github.com/acme/taxonomy.git",
            "https://github.com/acme/taxonomy.git",
            id="token-in-url",
        ),
        pytest.param(
            "git@github.com:acme/taxonomy.git", "github.com:acme/taxonomy.git", id="scp-like"
        ),
        pytest.param("http://gitea.internal/acme/tax.git", None, id="private-host"),
        pytest.param("/srv/git/taxonomy.git", None, id="local-path"),
    ],
)
def test_a_git_remote_loses_its_credentials(remote: str, expected: str | None) -> None:
    assert public_url(remote) == expected


def test_paths_are_relative_to_the_card_or_reduced_to_their_name(tmp_path: Path) -> None:
    inside = tmp_path / "run"
    (inside / "export").mkdir(parents=True)
    assert shown_path(str(inside / "export" / "sft.jsonl"), inside) == "export/sft.jsonl"
    assert shown_path("/home/ann/private/prompts.jsonl", inside) == "prompts.jsonl"
    assert shown_path("C:\\Users\\ann\\prompts.jsonl") == "prompts.jsonl"
    assert shown_path("docs/lighthouse.txt") == "docs/lighthouse.txt"
    assert shown_path("s3://bucket-of-ann/runs/x?X-Amz-Signature=abc") == "s3://…"


@pytest.mark.parametrize(
    ("rows", "bucket"),
    [
        pytest.param(0, "n<1K", id="empty"),
        pytest.param(999, "n<1K", id="999"),
        pytest.param(1_000, "1K<n<10K", id="1K"),
        pytest.param(99_999, "10K<n<100K", id="99999"),
        pytest.param(100_000, "100K<n<1M", id="100K"),
        pytest.param(2_500_000, "1M<n<10M", id="2.5M"),
        pytest.param(999_999_999, "100M<n<1B", id="just-under-1B"),
        pytest.param(10**12, "n>1T", id="1T"),
    ],
)
def test_size_category_uses_the_hubs_buckets(rows: int, bucket: str) -> None:
    assert size_category(rows) == bucket


def test_reject_reasons_group_by_their_kind() -> None:
    assert (
        reason_kind("score 0 < 1: vague.") == reason_kind("score 2 < 3: off topic") == "score N < N"
    )
    assert reason_kind("exact duplicate") == "exact duplicate"
    assert (
        reason_kind("unusable answer: parse hook refused the answer: no <question> in it")
        == "unusable answer: parse hook refused the answer: no <question> in it"
    )
    assert (
        reason_kind("parse hook refused the answer: Expecting value: line 1 column 1 (char 0)")
        == "parse hook refused the answer: Expecting value"
    )
    assert reason_kind(None) == "no reason recorded"
    assert len(reason_kind("x" * 500)) == 80


def test_settings_hide_transport_and_places_but_keep_prose_whole() -> None:
    config = {
        "system_prompt": "You answer questions about https://tides.example.org/faq, briefly.",
        "documents_dir": "/home/ann/private/docs",
        "reward": {"base_url": "http://10.0.0.7:8001/v1", "api_key_env": "NIM_KEY", "model": "rm"},
        "responses": {"temperature": 0.6, "top_p": None, "seed": None},
        "shard_rows": 10000,
        "leaves": None,
    }
    assert dict(setting_rows(config)) == {
        "system_prompt": config["system_prompt"],
        "documents_dir": "docs",
        "reward.model": "rm",
        "responses.temperature": "0.6",
        "responses.top_p": "not set (server default)",
        "responses.seed": "not set (server default)",
    }
