"""Tests of the PII detectors and redaction (synthloom.pii)."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from stdnum import iban as std_iban
from stdnum import luhn as std_luhn

from synthloom.errors import InputError
from synthloom.pii import (
    NER_TYPES,
    PATTERN_TYPES,
    REDACT_MODES,
    PiiMatch,
    PiiScanner,
    iban_valid,
    luhn_valid,
    redact,
)
from synthloom.pii.ner import entity_span

PLANTED = [
    pytest.param("EMAIL", "jane.doe@mailbox.org", id="email"),
    pytest.param("EMAIL", "j_o+tag@sub.mail.example.co.uk", id="email-plus-subdomains"),
    pytest.param("PHONE", "+1 (555) 123-4567", id="phone-us-intl"),
    pytest.param("PHONE", "+44 20 7946 0958", id="phone-uk-intl"),
    pytest.param("PHONE", "+49 (0)30 1234 5678", id="phone-de-trunk-in-parens"),
    pytest.param("PHONE", "+33 1 23 45 67 89", id="phone-fr-intl"),
    pytest.param("PHONE", "+14155552671", id="phone-e164"),
    pytest.param("PHONE", "(555) 123-4567", id="phone-us-parens"),
    pytest.param("PHONE", "555-123-4567", id="phone-us-dashes"),
    pytest.param("PHONE", "555.123.4567", id="phone-us-dots"),
    pytest.param("PHONE", "1-800-555-0199", id="phone-us-toll-free"),
    pytest.param("PHONE", "020 7946 0958", id="phone-uk-national"),
    pytest.param("PHONE", "(020) 7946 0958", id="phone-uk-parens"),
    pytest.param("PHONE", "07700 900123", id="phone-uk-mobile"),
    pytest.param("PHONE", "01 23 45 67 89", id="phone-fr-national"),
    pytest.param("PHONE", "030-1234567", id="phone-de-national"),
    pytest.param("CREDIT_CARD", "4111 1111 1111 1111", id="card-visa-spaces"),
    pytest.param("CREDIT_CARD", "5555-5555-5555-4444", id="card-mastercard-dashes"),
    pytest.param("CREDIT_CARD", "378282246310005", id="card-amex-plain"),
    pytest.param("CREDIT_CARD", "3782 822463 10005", id="card-amex-grouped"),
    pytest.param("CREDIT_CARD", "6011111111111117", id="card-discover"),
    pytest.param("IBAN", "DE89 3704 0044 0532 0130 00", id="iban-de-spaces"),
    pytest.param("IBAN", "GB82WEST12345698765432", id="iban-gb-compact"),
    pytest.param("IBAN", "FR14 2004 1010 0505 0001 3M02 606", id="iban-fr"),
    pytest.param("IBAN", "NL91ABNA0417164300", id="iban-nl"),
    pytest.param("US_SSN", "123-45-6789", id="ssn"),
    pytest.param("US_SSN", "078-05-1120", id="ssn-leading-zero"),
    pytest.param("IP_ADDRESS", "192.168.1.1", id="ipv4"),
    pytest.param("IP_ADDRESS", "8.8.8.8", id="ipv4-short"),
    pytest.param("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334", id="ipv6-compressed"),
    pytest.param("IP_ADDRESS", "fe80:0:0:0:202:b3ff:fe1e:8329", id="ipv6-full"),
    pytest.param("IP_ADDRESS", "2001:0db8:0000:0000:0000:ff00:0042:8329", id="ipv6-leading-zeros"),
    pytest.param("IP_ADDRESS", "::ffff:192.0.2.128", id="ipv6-ipv4-mapped"),
    pytest.param("IP_ADDRESS", "64:ff9b::198.51.100.7", id="ipv6-nat64-dotted-tail"),
    pytest.param("IP_ADDRESS", "fe80::1ff:fe23:4567:890a%eth0", id="ipv6-zone-id"),
    pytest.param("IP_ADDRESS", "fe80::1%25en0", id="ipv6-short-url-encoded-zone"),
    pytest.param("URL", "https://www.example.org/path?q=1&r=2", id="url-https"),
    pytest.param("URL", "www.some-shop.com/item/42", id="url-www"),
    pytest.param("URL", "ftp://files.host.net/pub", id="url-ftp"),
]


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner(ner="off")


@pytest.mark.parametrize("kind,value", PLANTED)
@pytest.mark.parametrize(
    "template",
    ["{}", "Contact: {}.", "({}) is on file", "Please use {}, thanks"],
    ids=["bare", "sentence", "parens", "comma"],
)
def test_planted_pii_is_found_with_exact_span(
    scanner: PiiScanner, kind: str, value: str, template: str
) -> None:
    text = template.format(value)
    start = text.index(value)
    assert scanner.scan(text) == [PiiMatch(kind, start, start + len(value), value)]


LOOK_ALIKES = [
    pytest.param("4111 1111 1111 1112", id="card-failing-luhn"),
    pytest.param("4111111111111112", id="card-failing-luhn-plain"),
    pytest.param("1234567812345670", id="luhn-valid-but-no-issuer-digit"),
    pytest.param("DE89 3704 0044 0532 0130 01", id="iban-bad-checksum"),
    pytest.param("DE88370400440532013000", id="iban-bad-check-digits"),
    pytest.param("XX89370400440532013000", id="iban-unknown-country"),
    pytest.param("000-12-3456", id="ssn-area-000"),
    pytest.param("666-12-3456", id="ssn-area-666"),
    pytest.param("912-12-3456", id="ssn-area-9xx"),
    pytest.param("123-00-4567", id="ssn-group-00"),
    pytest.param("123-45-0000", id="ssn-serial-0000"),
    pytest.param("999.1.1.1", id="ipv4-octet-out-of-range"),
    pytest.param("256.256.256.256", id="ipv4-all-out-of-range"),
    pytest.param("1.2.3.4.5", id="five-part-dotted"),
    pytest.param("version 1.2.3.4", id="version-string"),
    pytest.param("v1.2.3.4", id="version-string-v"),
    pytest.param("release 10.0.19041.1", id="windows-build"),
    pytest.param("1.2.3", id="semver"),
    pytest.param("3.14159", id="decimal"),
    pytest.param("2024-01-15", id="iso-date"),
    pytest.param("15.01.2024", id="dotted-date"),
    pytest.param("01-15-2024", id="us-date-dashes"),
    pytest.param("12/05/2023 14:30:59", id="date-time"),
    pytest.param("12:30:45", id="time-colons"),
    pytest.param("00:1A:2B:3C:4D:5E", id="mac-address"),
    pytest.param("978-3-16-148410-0", id="isbn-13"),
    pytest.param("ISBN 978-0-306-40615-7", id="isbn-13-prefixed"),
    pytest.param("0-306-40615-2", id="isbn-10"),
    pytest.param("12345678901234567890", id="long-digit-run"),
    pytest.param("Order 4111111111111111111111", id="digits-beyond-card-length"),
    pytest.param("100 200 3000", id="nanp-shape-area-code-1"),
    pytest.param("555-0142", id="seven-digit-fictional"),
    pytest.param("the price rose +5% to 1,234,567", id="numbers-with-plus"),
    pytest.param("user at example dot com", id="spelled-out-email"),
    pytest.param("std::vector<int>", id="cpp-scope"),
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_flagged(scanner: PiiScanner, text: str) -> None:
    assert scanner.scan(text) == []


@pytest.mark.parametrize(
    "line,address",
    [
        pytest.param(
            "Jun 03 04:12:55 gw sshd[811]: Accepted publickey for deploy from ::ffff:192.0.2.128 "
            "port 52144 ssh2",
            "::ffff:192.0.2.128",
            id="sshd-log-ipv4-mapped",
        ),
        pytest.param(
            "ping6 -c 3 fe80::a00:27ff:fe4e:66a1%enp0s3 returned 0% packet loss.",
            "fe80::a00:27ff:fe4e:66a1%enp0s3",
            id="ping-zone-id",
        ),
        pytest.param(
            "upstream [2a02:c7f:8e1d:6500::1bd]:8443 timed out",
            "2a02:c7f:8e1d:6500::1bd",
            id="bracketed-with-port",
        ),
    ],
)
def test_ipv6_is_found_and_redacted_whole(scanner: PiiScanner, line: str, address: str) -> None:
    found = scanner.scan(line)
    assert [(m.type, m.text) for m in found] == [("IP_ADDRESS", address)]
    for mode in REDACT_MODES:
        out = redact(line, found, mode)
        # No piece of the address survives: not its IPv4 tail, not its zone id.
        assert address.split("%")[0].rsplit(":", 1)[-1] not in out
        assert address not in out
        assert redact(out, scanner.scan(out), mode) == out


def test_luhn_agrees_with_stdnum() -> None:
    rng = random.Random(7)
    numbers = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 19))) for _ in range(2000)
    ]
    # Make a good share valid, so both outcomes are exercised.
    numbers += [n + std_luhn.calc_check_digit(n) for n in numbers[:500]]
    results = [luhn_valid(n) for n in numbers]
    assert results == [std_luhn.is_valid(n) for n in numbers]
    assert 400 < sum(results) < len(numbers) - 400


def test_luhn_ignores_separators() -> None:
    assert luhn_valid("4111-1111 1111-1111")
    assert not luhn_valid("4111-1111 1111-1112")


NUMERIC_BBAN = {"DE": 18, "ES": 20, "BE": 12, "DK": 14, "FI": 14, "AT": 16, "PL": 24, "NO": 11}


def _stdnum_iban_valid(s: str) -> bool:
    # check_country=False: the IBAN checks (registry format, mod 97) without the national
    # check digits some countries add inside the account number, which ours does not check.
    try:
        std_iban.validate(s, check_country=False)
    except Exception:
        return False
    return True


def test_iban_agrees_with_stdnum() -> None:
    rng = random.Random(11)
    samples = []
    for _ in range(600):
        country, n = rng.choice(sorted(NUMERIC_BBAN.items()))
        bban = "".join(rng.choice("0123456789") for _ in range(n))
        valid = country + std_iban.calc_check_digits(country + "00" + bban) + bban
        samples.append(valid)
        pos = rng.randrange(2, len(valid))
        digit = rng.choice([d for d in "0123456789" if d != valid[pos]])
        samples.append(valid[:pos] + digit + valid[pos + 1 :])  # one wrong digit
    results = [iban_valid(s) for s in samples]
    assert results == [_stdnum_iban_valid(s) for s in samples]
    assert sum(results) == 600  # mod 97 catches every single-digit error


def test_iban_accepts_spaces_and_rejects_wrong_length() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 3")
    assert not iban_valid("not an iban")


def test_iban_followed_by_capitals_keeps_its_own_length(scanner: PiiScanner) -> None:
    text = "BE68 5390 0754 7034 THEN MORE WORDS"
    assert scanner.scan(text) == [PiiMatch("IBAN", 0, 19, "BE68 5390 0754 7034")]


def test_many_matches_in_one_text_are_sorted_and_disjoint(scanner: PiiScanner) -> None:
    values = [value for kind, value in (p.values for p in PLANTED)]
    text = " ; ".join(values)
    found = scanner.scan(text)
    assert [m.text for m in found] == values
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_overlap_prefers_checksum_type_then_longest(scanner: PiiScanner) -> None:
    url = "https://shop.example.net/pay?card=4111111111111111"
    found = scanner.scan(url)
    assert [m.type for m in found] == ["CREDIT_CARD"]
    mail_in_url = "https://forms.site.org/contact?to=jane@mailbox.org&x=1"
    assert [(m.type, m.text) for m in scanner.scan(mail_in_url)] == [("URL", mail_in_url)]


def test_url_trailing_punctuation_is_not_part_of_it(scanner: PiiScanner) -> None:
    text = "See (https://en.wikipedia.org/wiki/Foo_(bar)), then https://a.org/x."
    assert [m.text for m in scanner.scan(text)] == [
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://a.org/x",
    ]


def test_types_limit_the_search() -> None:
    text = "mail jane@mailbox.org or call 555-123-4567"
    found = PiiScanner(types=["PHONE"], ner="off").scan(text)
    assert [m.type for m in found] == ["PHONE"]


def test_pattern_only_types_never_need_the_model() -> None:
    assert not PiiScanner(types=["EMAIL"], ner="auto").ner_available
    assert not PiiScanner(ner="off").ner_available


def test_unknown_type_and_ner_value_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"types.*EMAIL"):
        PiiScanner(types=["EMAIL", "PASSPORT"])
    with pytest.raises(InputError, match=r"ner.*auto, on, off"):
        PiiScanner(ner="maybe")


def test_scan_many_equals_scan(scanner: PiiScanner) -> None:
    texts = [f"row {i}: jane{i}@mailbox.org, 555-123-{i:04d}" for i in range(50)] + [""]
    assert scanner.scan_many(texts) == [scanner.scan(t) for t in texts]


def test_long_separated_digit_text_is_scanned_without_false_hits(scanner: PiiScanner) -> None:
    # A pathological run for the digit patterns; a real card number at the end must still show.
    text = "1 " * 20000 + "and 4111 1111 1111 1111"
    found = scanner.scan(text)
    assert [m.type for m in found] == ["CREDIT_CARD"]


SAMPLE = (
    "Write to jane.doe@mailbox.org or call +44 20 7946 0958. Card 4111 1111 1111 1111, "
    "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, host 10.1.2.3, see https://jd.me/cv."
)


def test_redact_writes_typed_placeholders(scanner: PiiScanner) -> None:
    out = redact(SAMPLE, scanner.scan(SAMPLE), "redact")
    assert re.findall(r"\[([A-Z_]+)\]", out) == [
        "EMAIL",
        "PHONE",
        "CREDIT_CARD",
        "IBAN",
        "US_SSN",
        "IP_ADDRESS",
        "URL",
    ]
    assert "Write to [EMAIL] or call [PHONE]." in out


def test_mask_keeps_length_and_last_four_digits_of_cards_and_phones(scanner: PiiScanner) -> None:
    matches = scanner.scan(SAMPLE)
    out = redact(SAMPLE, matches, "mask")
    assert len(out) == len(SAMPLE)
    assert "**** **** **** 1111" in out
    assert "+** ** **** 0958" in out
    assert "jane" not in out and "DE89" not in out and "10.1.2.3" not in out


def test_hash_is_stable_and_salted(scanner: PiiScanner) -> None:
    text = "jane@mailbox.org wrote to jane@mailbox.org and bob@mailbox.org"
    matches = scanner.scan(text)
    out = redact(text, matches, "hash")
    tokens = re.findall(r"<EMAIL:([0-9a-f]{8})>", out)
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2]
    salted = re.findall(r"<EMAIL:([0-9a-f]{8})>", redact(text, matches, "hash", salt="s3cret"))
    assert salted[0] != tokens[0]


def test_replace_writes_realistic_values_that_are_not_real(scanner: PiiScanner) -> None:
    out = redact(SAMPLE, scanner.scan(SAMPLE), "replace")
    assert "jane.doe" not in out
    assert re.search(r"user\.[0-9a-f]{6}@example\.com", out)
    card = re.search(r"Card ([\d ]+),", out)
    assert card is not None and len(card.group(1)) == len("4111 1111 1111 1111")
    assert card.group(1)[0] == "4" and not luhn_valid(card.group(1))
    iban = re.search(r"IBAN (DE[\d ]+),", out)
    assert iban is not None and not iban_valid(iban.group(1))
    assert "SSN 000-" in out
    assert "host 192.0.2." in out
    # The only values a second scan sees are reserved stand-ins (documentation IPs, example.com).
    again = {m.type for m in scanner.scan(out)}
    assert again <= {"EMAIL", "IP_ADDRESS", "URL"}


@pytest.mark.parametrize("mode", REDACT_MODES)
def test_every_mode_is_idempotent(scanner: PiiScanner, mode: str) -> None:
    once = redact(SAMPLE, scanner.scan(SAMPLE), mode)
    twice = redact(once, scanner.scan(once), mode)
    assert once != SAMPLE
    assert twice == once


def test_unknown_redaction_mode_is_an_input_error(scanner: PiiScanner) -> None:
    with pytest.raises(InputError, match="redact, mask, hash, replace"):
        redact(SAMPLE, scanner.scan(SAMPLE), "shred")


# The NER path. CI installs the `pii` extra: if the model is missing these tests fail, by design.

NER_TEXT = (
    "Yesterday Angela Weber flew from Hamburg to Lisbon to meet Carlos Mendes. "
    "Reach Angela at angela.weber@mailbox.org."
)


@pytest.fixture(scope="module")
def ner_scanner() -> PiiScanner:
    return PiiScanner(ner="on")


@pytest.mark.slow
def test_ner_finds_planted_person_and_city(ner_scanner: PiiScanner) -> None:
    assert ner_scanner.ner_available
    found = {(m.type, m.text) for m in ner_scanner.scan(NER_TEXT)}
    assert ("PERSON", "Angela Weber") in found
    assert ("PERSON", "Carlos Mendes") in found
    assert ("LOCATION", "Hamburg") in found
    assert ("LOCATION", "Lisbon") in found
    assert ("EMAIL", "angela.weber@mailbox.org") in found
    for m in ner_scanner.scan(NER_TEXT):
        assert NER_TEXT[m.start : m.end] == m.text


@pytest.mark.slow
def test_ner_off_finds_no_names(scanner: PiiScanner) -> None:
    found = scanner.scan(NER_TEXT)
    assert {m.type for m in found} == {"EMAIL"}
    assert not set(NER_TYPES) & {m.type for m in found}


@pytest.mark.slow
def test_ner_batches_agree_with_single_scans(ner_scanner: PiiScanner) -> None:
    texts = [NER_TEXT, "", "Nothing personal here.", "Call Maria Rossi in Milan on 020 7946 0958."]
    many = ner_scanner.scan_many(texts, batch_size=2)
    assert many == [ner_scanner.scan(t) for t in texts]
    assert {m.type for m in many[3]} == {"PERSON", "LOCATION", "PHONE"}


@pytest.mark.slow
def test_ner_leaves_redaction_placeholders_alone(ner_scanner: PiiScanner) -> None:
    for mode in REDACT_MODES:
        once = redact(NER_TEXT, ner_scanner.scan(NER_TEXT), mode)
        assert "Angela" not in once and "Hamburg" not in once
        assert redact(once, ner_scanner.scan(once), mode) == once


def test_all_pattern_types_are_covered_by_planted_examples() -> None:
    planted_types = {p.values[0] for p in PLANTED}
    assert planted_types == set(PATTERN_TYPES)


@pytest.mark.parametrize(
    "line,name",
    [
        pytest.param("Owners:\n- Lee Marsh\n", "Lee Marsh", id="dash-bullet"),
        pytest.param("Owners:\n• Mei Ito, design", "Mei Ito", id="dot-bullet"),
        pytest.param('Signed: "Tariq Osei".', "Tariq Osei", id="quoted"),
    ],
)
def test_entity_spans_are_trimmed_of_bullets_and_quotes(line: str, name: str) -> None:
    # The model's span may start at the bullet or quote and end at the punctuation after it.
    start = line.index(name) - 2
    end = line.index(name) + len(name) + 1
    span = entity_span(line, start, end)
    assert span is not None and line[span[0] : span[1]] == name
