"""The fast paths of synthloom.pii give exactly what the straightforward scan gives.

The scanner skips a pattern type when a cheap test (a character, a count, a short hint regex)
says it cannot match; the case statistics of the precision filter are counted over joined
chunks. Each is checked here against the plain version on messy text: unicode digits and
spaces, e-mails inside URLs and brackets, numbers that are not phones, mixed-case names.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter

import pytest

from synthloom.pii import PATTERN_TYPES, PiiMatch
from synthloom.pii.ner import NER_MODEL, load_ner
from synthloom.pii.patterns import FINDERS, count_digits, scan_patterns
from synthloom.pii.precision import CaseCounts

# Pieces people and models write, personal data and look-alikes mixed.
FRAGMENTS = [
    "Hi, I'm Maria Keller from Zürich.",
    "Contact: <maria.keller@bank.ch>",
    "mailto:j_o+tag@sub.mail.example.co.uk?subject=Hi",
    "see https://user@example.com/path?q=1&x=a@b.co.",
    "(www.Example.org/über) or WWW.example.net,",
    "Call +44 20 7946 0958 or (555) 123-4567 tomorrow.",
    "Tel. 020 7946 0958, fax 01 23 45 67 89",
    "version 1.2.3.4 and v10.0.0.1 are builds, 192.168.0.12 is a host",
    "released 2024-01-05 at 12:30:45; ISBN 978-3-16-148410-0",
    "std::vector<int> a::b; fe80::1%eth0 and ::ffff:192.0.2.128",
    "2001:db8:85a3::8a2e:370:7334 is documentation space",
    "Card 4111-1111-1111-1111, IBAN GB82 WEST 1234 5698 7654 32.",
    "DE89370400440532013000 paid; SSN 123-45-6789; not 000-12-3456",
    "Order #12345678901234 shipped; ref 4111111111111112",
    "٠١٢٣٤٥٦٧٨٩ and １２３-４５６-７８９０ and x² + y³ = ①",
    "The Landlord (the “Landlord”) shall pay. the landlord agrees.",
    "McDonald met DeShawn O'Neil in São Paulo; o'neil wrote back.",
    "THE END. Threshold: threshold values; see os.path.join and self.nick",
    "She said: 'Python is great' — \u00a0Python\u2003again\ttab Python",
    "über Über ÜBER straße İstanbul ǅemal ǲ",
    "phone: 555.123.4567 555-123.4567 +1-800-555-0199!",
    'a@b c@d.e f@example.com. "quoted@example.org"',
    "line one\nLine Two\r\nline three\x0bVertical\x1cSep\u2028Para\u3000Ideo",
    "IP 256.1.1.1, 10.0.0.255. and 1.2.3",
    "",
]


def messy_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seps = [" ", "\n", "  ", "\t", "", ", ", "\u00a0", " (", ") ", "\r\n", ". "]
    texts = []
    for _ in range(count):
        parts = rng.choices(FRAGMENTS, k=rng.randint(1, 6))
        texts.append("".join(p + rng.choice(seps) for p in parts))
    return texts


def plain_scan(text: str) -> list[PiiMatch]:
    return [
        PiiMatch(kind, start, end, text[start:end])
        for kind in PATTERN_TYPES
        for start, end in FINDERS[kind](text)
    ]


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param([f for f in FRAGMENTS], id="fragments"),
        pytest.param(messy_texts(600, seed=1), id="mixed-seed-1"),
        pytest.param(messy_texts(600, seed=2), id="mixed-seed-2"),
    ],
)
def test_scan_patterns_equals_every_finder_run_plainly(texts: list[str]) -> None:
    found = 0
    for text in texts:
        fast = scan_patterns(text, PATTERN_TYPES)
        assert fast == plain_scan(text), text
        found += len(fast)
    assert found > 0  # the fragments hold personal data: the comparison is not vacuous


def test_every_pattern_type_is_found_through_the_fast_path() -> None:
    kinds = {m.type for text in FRAGMENTS for m in scan_patterns(text, PATTERN_TYPES)}
    assert kinds == set(PATTERN_TYPES)


def test_scan_patterns_keeps_the_order_of_the_types_asked() -> None:
    text = "Write to maria@example.org or call +44 20 7946 0958 from 10.0.0.1."
    kinds = [m.type for m in scan_patterns(text, ("IP_ADDRESS", "PHONE", "EMAIL"))]
    assert kinds == ["IP_ADDRESS", "PHONE", "EMAIL"]
    assert [m.type for m in scan_patterns(text, ("EMAIL",))] == ["EMAIL"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("0123456789 abc 42", id="ascii"),
        pytest.param("٠١٢٣ ４５ x² ① ½ Ⅻ 7", id="unicode-digits"),
        pytest.param("naïve 3 cafés", id="latin-1"),
        *[pytest.param(t, id=f"messy-{i}") for i, t in enumerate(messy_texts(20, seed=3))],
    ],
)
def test_count_digits_counts_what_isdigit_says(text: str) -> None:
    assert count_digits(text) == sum(c.isdigit() for c in text)


def test_url_prefilter_misses_no_character_the_pattern_folds_to_w() -> None:
    # The URL pattern is case-insensitive; the prefilter looks for "www." in text.lower().
    folds = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch("(?i)w", chr(c))]
    assert all("w" in c.lower() for c in folds)


def plain_case_counts(texts: list[str]) -> CaseCounts:
    counts = CaseCounts()
    for text in texts:
        counts.add(text)
    return counts


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(FRAGMENTS, id="fragments"),
        pytest.param(messy_texts(900, seed=4), id="mixed-with-odd-whitespace"),
        pytest.param(
            [
                t.replace("\r", " ").replace("\u00a0", " ").replace("\u2003", "\t")
                for t in messy_texts(900, seed=5)
            ],
            id="spaces-tabs-and-line-breaks-only",
        ),
        pytest.param(
            [
                "Threshold.",
                "threshold",
                " Threshold",
                "x:Threshold",
                "(Threshold",
                "'Threshold",
                "see\tThreshold",
                "3Threshold, a Threshold; can' Threshold",
            ],
            id="sentence-openers",
        ),
    ],
)
def test_case_counts_of_equals_adding_each_text(texts: list[str]) -> None:
    fast = CaseCounts.of(texts)
    plain = plain_case_counts(texts)
    assert fast.lower == plain.lower
    assert fast.capitalised == plain.capitalised
    assert sum(plain.capitalised.values()) > 0 and sum(plain.lower.values()) > 0


def test_case_counts_read_each_text_on_its_own_across_chunks() -> None:
    # A text's first word opens a sentence even when the text before it ends mid-sentence,
    # whether the two share a chunk or not (the chunks are 2,000 texts).
    texts = ["the end of a line without a stop and", "Keller wrote back"] * 1500
    counts = CaseCounts.of(texts)
    assert counts.capitalised["keller"] == 0
    assert counts.lower == plain_case_counts(texts).lower
    assert CaseCounts.of(["see", "Keller"]).capitalised == Counter()
    assert CaseCounts.of(["see Keller"]).capitalised == Counter({"keller": 1})


NER_TEXTS = [
    "Yesterday Angela Weber flew from Hamburg to Lisbon to meet Carlos Mendes.",
    "Hi, I'm Wei Zhang from Osaka. What is the `with` statement about?",
    "Kwame Mensah here (kwame.mensah@example.org) - quick question on Unicode in São Paulo?",
    "The Landlord shall pay the Tenant; Dr. O'Neil of New York signed for McDonald & Sons.",
    "self.nick = nick\nprint(Maria Garcia)  # Berlin, Toronto and Lima are test cities",
    "",
    "she said HELLO to ÅSA LINDQVIST in Malmö, then drove to the Netherlands.",
]


@pytest.mark.slow
def test_ner_entities_are_those_of_the_full_model_pipeline() -> None:
    # The scanner runs the model's ner alone; the full pipeline (shared tok2vec, tagger,
    # parser...) must find the very same entities, as ner embeds its own token vectors.
    import spacy

    engine, _ = load_ner()
    ours = engine.nlp["en"]
    assert ours.pipe_names == ["ner"]
    full = spacy.load(NER_MODEL)
    assert "tok2vec" in full.pipe_names
    texts = NER_TEXTS + messy_texts(40, seed=6)
    found = 0
    for mine, reference in zip(ours.pipe(texts), full.pipe(texts), strict=True):
        assert [(e.start_char, e.end_char, e.label_) for e in mine.ents] == [
            (e.start_char, e.end_char, e.label_) for e in reference.ents
        ]
        found += len(mine.ents)
    assert found > 10


def test_str_split_and_the_regex_tokens_agree_on_whitespace() -> None:
    # The case counts split joined texts with str.split(); the plain path reads \S+ tokens.
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    kept = "".join(c for c in everything if not c.isspace())
    assert "".join(everything.split()) == kept
    assert re.sub(r"\s", "", everything) == kept
