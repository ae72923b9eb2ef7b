"""The precision filter of :mod:`synthloom.pii`: named-entity hits that are not names or places.

The small spaCy model tags many capitalised words as PERSON or LOCATION: defined terms of
contracts ("the Landlord", "the Premises"), product and language names ("Python", "Unicode"),
acronyms ("DP", "DPCTGAN"), code ("self.nick"), headings ("Format String Syntax"). Every NER hit
passes the rules below, in this order; the first that applies drops it and names the reason.
The pattern detectors (e-mail, phone, card...) are never filtered: they are validated already.

=================  ==========================================================================
``lowercase``      no word of the span starts with a capital (``new moon``, ``xor``): the model
                   tags such spans, but English writes names and places capitalised
``code``           the span holds code punctuation (``_ ( ) [ ] = / \\``, a backtick, a dot inside a
                   dotted name such as ``self.nick``) or a
                   camelCase word (``GitHub``, ``PyTorch``; ``McDonald``, ``MacArthur``,
                   ``DeShawn``-style name prefixes excepted)
``acronym``        a single word in capitals, two letters or more (``DP``, ``GDPR``)
``tech_term``      a word of the span is a product, language, format or unit name from
                   :data:`TECH_TERMS` (``Python``, ``Unicode``, ``Kubernetes``, ``Fahrenheit``)
``heading``        the span lies on a heading line (2 to 12 words, no closing full stop, every
                   word of four letters or more capitalised, and other words beside the span),
                   or is itself a title-case phrase with a capitalised function word
                   (``Exception Handling In``) or of three words or more alone on its line
``defined_term``   one word after a determiner (``the``, ``this``, ``each``, ``our``...) or in
                   a definition (``("Tenant")``): for PERSON always, since a person's name takes
                   no article; for LOCATION only when a verb, preposition or punctuation follows
                   ("the Premises are", but "our Lisbon office" stays), and never for the places
                   that take an article (``the Netherlands``, ``the Hague``)
``common_word``    every word of the span is written in lower case, at least as often as it is
                   capitalised mid-sentence, in the texts scanned together (the whole dataset
                   in the assay, the one text in curate): "threshold" in lower case says
                   "Threshold" is a word; words inside e-mail addresses, URLs and dotted
                   identifiers are not counted (``maria.keller@...`` is no lower-case "keller")
=================  ==========================================================================

The rules read only the text: no list of names is consulted, so a name is never kept or dropped
for being on a list. Their effect on synthloom's labelled set and on CPython's documentation is
measured by ``benchmarks/bench_pii.py``.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from synthloom.pii.patterns import PiiMatch

__all__ = ["DROP_REASONS", "TECH_TERMS", "CaseCounts", "drop_reason"]


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Why a named-entity hit was dropped, in the order the rules are tried.
DROP_REASONS: tuple[str, ...] = (
    "lowercase",
    "code",
    "acronym",
    "tech_term",
    "heading",
    "defined_term",
    "common_word",
)

#: Products, languages, formats, platforms and units the model mistakes for names or places.
#: Only words that are no one's given name or family name in common use.
TECH_TERMS: frozenset[str] = _word_set(
    """
    python unicode ascii utf linux unix ubuntu debian fedora macos ios android windows
    javascript typescript java kotlin haskell fortran cobol perl php ruby rust golang lua
    scala clojure erlang elixir tcl tkinter pytorch tensorflow keras numpy pandas scipy jupyter
    docker kubernetes terraform ansible jenkins github gitlab bitbucket jira confluence slack
    postgres postgresql mysql sqlite mongodb redis kafka hadoop elasticsearch nginx apache
    excel powerpoint outlook onedrive sharepoint salesforce zoom gmail chrome firefox safari
    bluetooth wi-fi wifi json yaml toml xml html css markdown latex pdf csv http https
    fahrenheit celsius kelvin aws azure gcp openai chatgpt pypi conda pip npm webpack
    """
)

# A dot counts inside a dotted name (``self.nick``, ``os.path``), not after a title or an
# initial ("Dr. Okafor", "J.R. Tolkien").
_CODE_CHARS = re.compile(r"[_()\[\]=/\\`]|[a-z]\.[A-Za-z_]|[A-Za-z_]\.[a-z]")
# camelCase inside a word: a lower-case letter followed by a capital.
_CAMEL = re.compile(r"[a-z][A-Z]")
# Name prefixes that put a capital inside a name.
_NAME_PREFIX = re.compile(r"^(?:Mc|Mac|O'|D'|De|Di|Da|Du|La|Le|Van|Von|St)[A-Z]")
_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*")
_DETERMINERS = _word_set(
    "the this that these those each every any such a an no our your their its his her my "
    "said either neither"
)
_FUNCTION_WORDS = _word_set("In Of For And The To On At By With From Or As")
# Words that may follow a defined term: verbs, modals, prepositions and other function words
# ("the Landlord shall", "the Landlord a monthly rent"), where a place used as a modifier is
# followed by a noun ("our Lisbon office").
_AFTER_TERM = _word_set(
    """
    shall will may must can cannot should would is are was were has have had be being means
    agrees agree warrants includes include acknowledges pays pay in of under at on to for
    with from by within without during upon as and or a an the this that any all each its
    their his her if when who which whose nor but
    """
)
_PLACES_WITH_ARTICLE = _word_set(
    """
    netherlands philippines hague bronx bahamas gambia congo sudan maldives seychelles
    caribbean balkans alps andes himalayas midwest riviera sahara amazon arctic antarctic
    pacific atlantic mediterranean baltic ukraine crimea levant gulf
    """
)
_TOKEN = re.compile(r"\S+")
_NOT_PROSE = re.compile(r"[@_/\\]|://|^www\.|\w\.\w")
_SENTENCE_END = ".!?:;\"'(\n“”"


@dataclass
class CaseCounts:
    """How often each word is written in lower case, and capitalised mid-sentence, in a set
    of texts: a word more often lower case than capitalised is a common word there."""

    lower: Counter[str] = field(default_factory=Counter)
    capitalised: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, texts: Iterable[str]) -> CaseCounts:
        """The counts of ``texts``: what :meth:`add` of each gives, counted a chunk at a time."""
        counts = cls()
        stream = iter(texts)
        while chunk := list(itertools.islice(stream, _CHUNK)):
            counts.add_many(chunk)
        return counts

    def add_many(self, texts: Sequence[str]) -> None:
        """:meth:`add` of each text, faster: the texts are joined and split into tokens in C,
        and each distinct token is looked at once per context however often it occurs.
        Whether a token opens a sentence depends only on the token before it once every line
        break is a token "." of its own, so texts whose only whitespace is spaces, tabs and
        line breaks take this path; the others (``\\r``, no-break spaces...) go through
        :meth:`add`."""
        plain = texts
        if _other_whitespace("".join(texts)):
            plain = [t for t in texts if not _other_whitespace(t)]
            for text in texts:
                if _other_whitespace(text):
                    self.add(text)
        # Every text starts after a line break, as a text's first word opens a sentence.
        tokens = ("\n" + "\n".join(plain)).replace("\n", " . ").split()
        opens = list(map(_SENTENCE_END_SET.__contains__, map(operator.itemgetter(-1), tokens)))
        # Counted apart, so that the counters hash strings (cached), not pairs.
        after_end = Counter(itertools.compress(tokens[1:], opens))
        inside = Counter(itertools.compress(tokens[1:], map(operator.not_, opens)))
        for initial, counter in ((True, after_end), (False, inside)):
            for token, n in counter.items():
                self._add_token(token, initial, n)

    def _add_token(self, token: str, initial: bool, n: int) -> None:
        """Count ``n`` occurrences of ``token``; ``initial``: the text before it ends a sentence."""
        if _NOT_PROSE.search(token):
            return
        for m in _WORD.finditer(token):
            word = m.group()
            if word.islower():
                self.lower[word] += n
            elif word[0].isupper():
                opens = initial if m.start() == 0 else _sentence_initial(token, m.start())
                if not opens:
                    self.capitalised[word.lower()] += n

    def add(self, text: str) -> None:
        for token in _TOKEN.finditer(text):
            # An address or identifier writes names in lower case ("maria.keller@..."): it
            # says nothing about how the words are written in prose.
            if _NOT_PROSE.search(token.group()):
                continue
            for m in _WORD.finditer(token.group()):
                word = m.group()
                if word.islower():
                    self.lower[word] += 1
                elif word[0].isupper() and not _sentence_initial(text, token.start() + m.start()):
                    self.capitalised[word.lower()] += 1

    def is_common(self, word: str) -> bool:
        """Written in lower case at least once, and at least as often as capitalised
        mid-sentence (a capital at the start of a sentence says nothing)."""
        key = word.lower()
        return self.lower[key] > 0 and self.lower[key] >= self.capitalised[key]


# Texts counted a chunk at a time by CaseCounts.of.
_CHUNK = 2000
_SENTENCE_END_SET = frozenset(_SENTENCE_END)


def _other_whitespace(text: str) -> bool:
    """Whether ``text`` holds whitespace other than spaces, tabs and line breaks (``\\r``, a
    no-break space...): the joined-chunk path of :meth:`CaseCounts.add_many` cannot read it."""
    spaces = text.count(" ") + text.count("\t") + text.count("\n")
    return sum(map(len, text.split())) + spaces != len(text)


def _sentence_initial(text: str, start: int) -> bool:
    """Whether the word at ``start`` opens a sentence, line, quote or bracket."""
    pos = start - 1
    while pos >= 0 and text[pos] in " \t":
        pos -= 1
    return pos < 0 or text[pos] in _SENTENCE_END


def _is_code(span: str) -> bool:
    if _CODE_CHARS.search(span):
        return True
    return any(_CAMEL.search(word) and not _NAME_PREFIX.match(word) for word in span.split())


def _is_acronym(words: list[str]) -> bool:
    return len(words) == 1 and len(words[0]) >= 2 and words[0].isupper()


def _line_of(text: str, start: int, end: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def _is_heading(text: str, start: int, end: int, words: list[str]) -> bool:
    if len(words) > 1 and any(w in _FUNCTION_WORDS for w in words[1:]):
        return True
    line_start, line_end = _line_of(text, start, end)
    line = text[line_start:line_end].strip()
    line_words = _WORD.findall(line)
    if len(words) >= 3 and len(line_words) == len(words):
        return True
    if not 2 <= len(line_words) <= 12 or len(line_words) == len(words):
        return False
    if line.endswith((".", "!", "?", ",")):
        return False
    return all(w[0].isupper() for w in line_words if len(w) >= 4)


def _is_defined_term(text: str, start: int, end: int, kind: str, words: list[str]) -> bool:
    if len(words) != 1:
        return False
    before = text[max(0, start - 2) : start]
    if before in ('("', "(“", "(‘", "('"):
        return True
    previous = _WORD.findall(text[max(0, start - 20) : start])
    if not previous or previous[-1].lower() not in _DETERMINERS:
        return False
    if kind != "LOCATION":
        return True
    if words[0].lower() in _PLACES_WITH_ARTICLE:
        return False
    rest = text[end : end + 30].lstrip(" \t")
    if not rest or not rest[0].isalpha():
        return True  # punctuation or the end of the text follows
    following = _WORD.match(rest)
    return following is not None and following.group().lower() in _AFTER_TERM


def drop_reason(text: str, match: PiiMatch, counts: CaseCounts) -> str | None:
    """Why the named-entity hit ``match`` in ``text`` is not a name or place (one of
    :data:`DROP_REASONS`), or None to keep it. ``counts``: the case statistics of the texts
    scanned together (they must include ``text``)."""
    span = match.text
    words = _WORD.findall(span)
    if not any(w[0].isupper() for w in words):
        return "lowercase"
    if _is_code(span):
        return "code"
    if _is_acronym(words):
        return "acronym"
    if any(w.lower() in TECH_TERMS for w in words):
        return "tech_term"
    if _is_heading(text, match.start, match.end, words):
        return "heading"
    if _is_defined_term(text, match.start, match.end, match.type, words):
        return "defined_term"
    if words and all(counts.is_common(w) for w in words):
        return "common_word"
    return None
