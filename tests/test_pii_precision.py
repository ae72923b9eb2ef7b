"""The NER precision filter (synthloom.pii.precision) and its effect on a labelled set."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.assay.privacy import pii_summary
from synthloom.errors import InputError
from synthloom.pii import PII_TYPES, PiiMatch, PiiScanner
from synthloom.pii.display import context_words, mask_secrets, masked_value, token_shape
from synthloom.pii.evaluation import LabelledText, TypeScore, load_labelled, score_spans
from synthloom.pii.precision import DROP_REASONS, CaseCounts, drop_reason

LABELLED = Path(__file__).resolve().parent / "data" / "pii_eval.jsonl"

# Recall of today's detector (every NER hit counted) on tests/data/pii_eval.jsonl, measured
# before the filter existed (benchmarks/bench_pii.py, "before filter" column): 142 of 190
# PERSON and 112 of 135 LOCATION spans.
BASELINE_RECALL = {"PERSON": 142 / 190, "LOCATION": 112 / 135}


def _hit(text: str, value: str, kind: str = "PERSON", nth: int = 0) -> PiiMatch:
    start = -1
    for _ in range(nth + 1):
        start = text.index(value, start + 1)
    return PiiMatch(kind, start, start + len(value), value)


# (text, value, type, expected reason or None to keep): the rules alone, no model needed.
RULES = [
    pytest.param(
        "Spring tides follow the new moon and the full moon.",
        "new moon",
        "LOCATION",
        "lowercase",
        id="lowercase-phrase",
    ),
    pytest.param(
        "Call self.nick to read the nickname.",
        "self.nick",
        "PERSON",
        "lowercase",
        id="dotted-lowercase",
    ),
    pytest.param(
        "Use Path.home to find the folder.", "Path.home", "PERSON", "code", id="dotted-name"
    ),
    pytest.param("Install it from GitHub today.", "GitHub", "PERSON", "code", id="camel-case"),
    pytest.param(
        "We trained DPCTGAN on the census extract.", "DPCTGAN", "PERSON", "acronym", id="acronym"
    ),
    pytest.param("DP noise was added with epsilon 1.", "DP", "LOCATION", "acronym", id="dp"),
    pytest.param(
        "Python strings are sequences of code points.", "Python", "PERSON", "tech_term", id="py"
    ),
    pytest.param(
        "Strings hold Unicode code points.", "Unicode", "LOCATION", "tech_term", id="unicode"
    ),
    pytest.param(
        "Temperatures are reported in Fahrenheit here.",
        "Fahrenheit",
        "LOCATION",
        "tech_term",
        id="unit",
    ),
    pytest.param("Format String Syntax", "Format String Syntax", "PERSON", "heading", id="title"),
    pytest.param(
        "Exception Handling In Asynchronous Code",
        "Exception Handling In",
        "PERSON",
        "heading",
        id="function-word-in-title",
    ),
    pytest.param(
        "Quarterly Review: Revenue, Pipeline and Hiring\nNumbers follow.",
        "Pipeline",
        "PERSON",
        "heading",
        id="heading-line",
    ),
    pytest.param(
        "The Tenant shall pay the Landlord a monthly rent.",
        "Landlord",
        "LOCATION",
        "defined_term",
        id="landlord-as-place",
    ),
    pytest.param(
        "The Landlord shall keep the Premises in good repair.",
        "Landlord",
        "PERSON",
        "defined_term",
        id="landlord-as-person",
    ),
    pytest.param(
        "The Premises are located on the ground floor.",
        "Premises",
        "LOCATION",
        "defined_term",
        id="premises",
    ),
    pytest.param(
        'made between A. Keller ("Tenant") and the owner',
        "Tenant",
        "PERSON",
        "defined_term",
        id="definition-in-quotes",
    ),
    pytest.param(
        "Move the nightly backups to the Cloud before the NAS fails.",
        "Cloud",
        "PERSON",
        "defined_term",
        id="the-cloud",
    ),
    # What must stay.
    pytest.param(
        "Please welcome Maria Keller, who joins in May.", "Maria Keller", "PERSON", None, id="name"
    ),
    pytest.param("Dr. Okafor wrote the parser.", "Dr. Okafor", "PERSON", None, id="title-dot"),
    pytest.param("Ask McDonald about it.", "McDonald", "PERSON", None, id="mc-prefix"),
    pytest.param(
        "Witnessed by J.R. Abernathy, notary.", "J.R. Abernathy", "PERSON", None, id="initials"
    ),
    pytest.param(
        "Please welcome Kenji, our new analyst in our Lisbon office.",
        "Lisbon",
        "LOCATION",
        None,
        id="place-as-modifier",
    ),
    pytest.param(
        "She moved to the Netherlands in 2019.",
        "Netherlands",
        "LOCATION",
        None,
        id="place-with-article",
    ),
    pytest.param("hey Priya, you coming tonight?", "Priya", "PERSON", None, id="chat-name"),
    pytest.param("Quarterly Review\nMaria Keller", "Maria Keller", "PERSON", None, id="signature"),
]


@pytest.mark.parametrize("text,value,kind,reason", RULES)
def test_each_rule_drops_its_case_and_keeps_names(
    text: str, value: str, kind: str, reason: str | None
) -> None:
    assert drop_reason(text, _hit(text, value, kind), CaseCounts.of([text])) == reason


def test_common_word_rule_reads_the_case_of_the_whole_dataset() -> None:
    record = "Gender: as stated on the application form."
    dataset = [
        record,
        "Report the gender and age group of each participant.",
        "The form asks for gender, but the field is optional.",
    ]
    hit = _hit(record, "Gender")
    assert drop_reason(record, hit, CaseCounts.of([record])) is None
    assert drop_reason(record, hit, CaseCounts.of(dataset)) == "common_word"


def test_names_written_lowercase_in_addresses_are_not_common_words() -> None:
    dataset = [
        "Mr. Mbeki from the Dublin branch asked about VAT.",
        "Write to saskia.mbeki@fastmail.com or see https://wiki.example.org/mbeki/notes.",
        "Reviewed-by: Tariq Mbeki <tariq.mbeki@proton.me>",
    ]
    counts = CaseCounts.of(dataset)
    assert counts.lower["mbeki"] == 0
    assert drop_reason(dataset[0], _hit(dataset[0], "Mbeki"), counts) is None


def test_a_word_capitalised_more_often_than_not_stays_a_name() -> None:
    dataset = [
        "Mark Quinn signed the order.",
        "Ask Mark first.",
        "I told Mark twice.",
        "Put a mark on the form.",
    ]
    counts = CaseCounts.of(dataset)
    assert not counts.is_common("Mark")
    assert drop_reason(dataset[1], _hit(dataset[1], "Mark"), counts) is None


# With the model. CI installs the `pii` extra; without the model these fail, by design.

# A small seed set written the way InstructLab contributors write (legal Q&A, data science,
# a recipe, a form): the words the issue lists as false hits, in contexts where the small spaCy
# model takes them for names or places, beside real-looking names.
SEED = [
    "1. Rent. The Tenant shall pay the Landlord a monthly rent of $1,450, due on the first "
    "day of each month.",
    "Tenant agrees that the Lease ends on 31 August. Landlord may inspect the Premises with "
    "24 hours' notice.",
    "We trained DPCTGAN on the census extract; DP noise was added with epsilon = 1.",
    "Move the nightly backups to the Cloud before the old NAS fails.",
    "Age group: Adult. Gender: Female. Employment: part-time.",
    "Adult: 18 years or older. Gender: as stated on the application form.",
    "Temperatures are reported in Fahrenheit unless the locale says otherwise.",
    "Call self.nick to read the nickname; Unicode strings are accepted.",
    "See Format String Syntax for the mini-language.",
    # Questions as users write them: the common words in lower case, which is what the
    # common_word rule reads across the dataset.
    "Most respondents report their gender; each adult answers for the household.",
    "Can my landlord keep the deposit if I end the lease early?",
    "What does the format string syntax look like for zero padding?",
    "The Tenant, Beatriz Okafor, asked Daniel Varga to renew the lease for the flat in Porto.",
    "Please welcome Kenji Nakamura, who joins the procurement team in our Lisbon office.",
]
LISTED = {
    "Landlord",
    "Tenant",
    "Lease",
    "DPCTGAN",
    "Cloud",
    "Adult",
    "Gender",
    "Threshold",
    "DP",
    "Premises",
    "Fahrenheit",
    "Swifties",
    "Python",
    "Unicode",
    "Format String Syntax",
    "self.nick",
}
NAMES = {
    ("PERSON", "Beatriz Okafor"),
    ("PERSON", "Daniel Varga"),
    ("PERSON", "Kenji Nakamura"),
    ("LOCATION", "Porto"),
    ("LOCATION", "Lisbon"),
}


@pytest.mark.slow
def test_filter_drops_the_listed_false_hits_and_keeps_names() -> None:
    before = pii_summary(SEED, scanner=PiiScanner(ner="on", ner_filter=False), max_examples=99)
    after = pii_summary(SEED, scanner=PiiScanner(ner="on"), max_examples=99)
    flagged_before = {e["text"] for e in before["examples"]}
    flagged_after = {(e["type"], e["text"]) for e in after["examples"]}
    # The trap works: the unfiltered model takes most listed words for names or places...
    assert len(flagged_before & LISTED) >= 8, flagged_before
    # ...and after the filter none is left, while every planted name and place is.
    assert not {text for _, text in flagged_after} & LISTED
    assert flagged_after >= NAMES
    dropped = after["ner_dropped"]
    assert dropped["total"] == sum(dropped["by_reason"].values())
    assert set(dropped["by_reason"]) == set(DROP_REASONS)
    assert dropped["total"] == len(after["dropped_examples"])
    assert {e["text"] for e in after["dropped_examples"]} == flagged_before & LISTED
    assert after["total"] == before["total"] - dropped["total"]
    # Triage: a dropped "Landlord" is shown as found, with its shape, reason and words around.
    landlord = next(e for e in after["dropped_examples"] if e["text"] == "Landlord")
    assert landlord["shape"] == "Xxxxx" and landlord["reason"] == "defined_term"
    assert landlord["before"].endswith("pay the") or landlord["after"].startswith("may inspect")


@pytest.fixture(scope="module")
def labelled_scores() -> tuple[dict[str, TypeScore], dict[str, TypeScore]]:
    rows = load_labelled(LABELLED)
    texts = [r.text for r in rows]
    results = list(PiiScanner(ner="on").iter_scan_results(texts, case_counts=CaseCounts.of(texts)))
    before = [r.matches + [d.match for d in r.dropped] for r in results]
    return (
        score_spans(rows, before),
        score_spans(rows, [r.matches for r in results]),
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["PERSON", "LOCATION"])
def test_labelled_set_precision_and_recall(
    labelled_scores: tuple[dict[str, TypeScore], dict[str, TypeScore]], kind: str
) -> None:
    before, after = labelled_scores
    precision = after[kind].precision
    recall = after[kind].recall
    assert precision is not None and recall is not None
    assert precision >= 0.9
    assert recall >= BASELINE_RECALL[kind] - 1e-12
    # The unfiltered numbers are today's: the filter, not the data, makes the difference.
    assert before[kind].recall == pytest.approx(BASELINE_RECALL[kind])
    assert before[kind].precision is not None and before[kind].precision < 0.85


@pytest.mark.slow
def test_labelled_set_pattern_types_are_all_found(
    labelled_scores: tuple[dict[str, TypeScore], dict[str, TypeScore]],
) -> None:
    _, after = labelled_scores
    for kind in ("EMAIL", "PHONE", "URL", "IP_ADDRESS", "IBAN"):
        assert after[kind].precision == 1.0 and after[kind].recall == 1.0, kind


def test_labelled_set_is_well_formed() -> None:
    rows = load_labelled(LABELLED)
    assert len(rows) >= 300
    with_entities = [r for r in rows if r.entities]
    assert 0 < len(with_entities) < len(rows)
    for row in rows:
        for kind, start, end in row.entities:
            assert kind in PII_TYPES, row.id
            assert 0 <= start < end <= len(row.text), row.id
            assert row.text[start:end].strip() == row.text[start:end], row.id
    domains = {r.id.split("-")[0] for r in rows}
    assert domains == {"business", "legal", "technical", "chat"}


# Scoring and display helpers.


def test_score_spans_matches_one_to_one_by_overlap_and_type() -> None:
    text = "Dr. Okafor met Maria Keller in Porto and Lisbon."
    gold = LabelledText(
        "t",
        text,
        (
            ("PERSON", text.index("Okafor"), text.index("Okafor") + 6),
            ("PERSON", text.index("Maria"), text.index("Keller") + 6),
            ("LOCATION", text.index("Porto"), text.index("Porto") + 5),
            ("LOCATION", text.index("Lisbon"), text.index("Lisbon") + 6),
        ),
    )
    found = [
        _hit(text, "Dr. Okafor"),  # overlaps the gold "Okafor": a true positive
        _hit(text, "Maria"),  # part of "Maria Keller": a true positive...
        _hit(text, "Keller"),  # ...and the same gold span again: a false positive
        _hit(text, "Porto", "PERSON"),  # right span, wrong type
        _hit(text, "Lisbon", "LOCATION"),
    ]
    scores = score_spans([gold], [found], types=["PERSON", "LOCATION", "EMAIL"])
    person, location, email = scores["PERSON"], scores["LOCATION"], scores["EMAIL"]
    assert (person.true_positives, person.false_positives, person.false_negatives) == (2, 2, 0)
    assert (location.true_positives, location.false_positives, location.false_negatives) == (
        1,
        0,
        1,
    )
    assert person.precision == 0.5 and location.recall == 0.5
    assert email.precision is None and email.recall is None


def test_a_malformed_labelled_line_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "a", "text": "Hi Maria", "entities": []}\n'
        '{"id": "b", "text": "Hi Kenji", "entities": [{"type": "PERSON", "start": 3}]}\n',
        "utf-8",
    )
    with pytest.raises(InputError, match=r"set\.jsonl:2: .*type, start, end"):
        load_labelled(path)


def test_token_shape_agrees_with_spacy() -> None:
    spacy = pytest.importorskip("spacy")
    vocab = spacy.blank("en").vocab
    words = ["Landlord", "DPCTGAN", "DP", "McDonald", "O'Brien", "x86_64", "ISO-8601", "Zoë", "a"]
    for word in words:
        assert token_shape(word) == vocab[word].shape_, word
    assert token_shape("Maria Keller") == "Xxxxx Xxxxx"


def test_secrets_are_masked_in_place_and_other_values_shown() -> None:
    text = "Card 4111 1111 1111 1111 for Maria Keller, IBAN GB82WEST12345698765432."
    matches = [*PiiScanner(ner="off").scan(text), _hit(text, "Maria Keller")]
    shown = mask_secrets(text, matches)
    assert len(shown) == len(text)
    assert "4111 1111 1111" not in shown and "**** **** **** 1111" in shown
    assert "GB82WEST" not in shown and shown.endswith("5432.")
    assert "Maria Keller" in shown
    assert masked_value("PERSON", "Landlord") == "Landlord"
    start = text.index("Maria")
    assert context_words(shown, start, start + 12, 2) == ("1111 for", ", IBAN")
