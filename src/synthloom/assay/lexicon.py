"""synthloom's demographic descriptor lexicon: loading, validating and scanning texts with it.

The lexicon file (``lexicon.yaml`` beside this module) documents how it was built, how matching
works and its limits. :mod:`synthloom.assay.bias` counts and compares the mentions it finds.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from synthloom.errors import ConfigError, yaml_syntax_error
from synthloom.text import tokenize

__all__ = ["DEFAULT_LEXICON_PATH", "Lexicon", "load_lexicon"]

#: The lexicon synthloom ships and uses when none is given.
DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")

Phrase = tuple[str, ...]
Groups = tuple[str, ...]
# first token -> ((axis, {second token: ((phrase, groups), ... longest first)}, groups of the
# one-token term or None), ...); empty groups = excluded
_Index = dict[
    str, tuple[tuple[str, dict[str, tuple[tuple[Phrase, Groups], ...]], Groups | None], ...]
]


@dataclass(frozen=True)
class Lexicon:
    """Descriptor terms per axis and group, plus per-axis phrases that count for nobody.

    ``axes[axis][group]`` holds the terms as written (lower case); ``exclude[axis]`` the phrases
    that swallow an unrelated sense of a term ("french fries"). Build one with
    :func:`load_lexicon`; constructing it directly skips the file validation.
    """

    axes: Mapping[str, Mapping[str, tuple[str, ...]]]
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = "<memory>"
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _build_index(self.axes, self.exclude))

    def groups(self, axis: str) -> list[str]:
        """The group names of one axis, in lexicon order."""
        return list(self.axes[axis])

    def scan(self, text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(axis, groups) for each descriptor found in ``text``, left to right per axis."""
        return _scan(_descriptor_tokens(text), self._index)


def _descriptor_tokens(text: str) -> list[str]:
    """synthloom's tokens with a possessive "'s" dropped, so "women's" matches "women".

    Lexicon terms go through the same function, so "crohn's" and "crohn" are one term.
    """
    tokens = tokenize(text)
    # Tokens are lower case: one that ends in "'s" comes from "'s" or "'S" in the text.
    if "'" not in text or "'s" not in text.lower():
        return tokens
    return [t[:-2] if t.endswith("'s") and len(t) > 2 else t for t in tokens]


def _build_index(
    axes: Mapping[str, Mapping[str, tuple[str, ...]]], exclude: Mapping[str, tuple[str, ...]]
) -> _Index:
    # phrase -> groups, per axis; a phrase listed in two groups counts for both.
    per_axis: dict[str, dict[Phrase, list[str]]] = {}
    for axis, groups in axes.items():
        phrases = per_axis.setdefault(axis, {})
        for group, terms in groups.items():
            for term in terms:
                members = phrases.setdefault(tuple(_descriptor_tokens(term)), [])
                if group not in members:
                    members.append(group)
        for term in exclude.get(axis, ()):
            phrases.setdefault(tuple(_descriptor_tokens(term)), [])
    by_first: dict[str, dict[str, list[tuple[Phrase, tuple[str, ...]]]]] = {}
    for axis, phrases in per_axis.items():
        for phrase, members in phrases.items():
            if not phrase:
                continue
            entry = (phrase, tuple(members))
            by_first.setdefault(phrase[0], {}).setdefault(axis, []).append(entry)
    index: _Index = {}
    for first, axes_here in by_first.items():
        slots = []
        for axis, entries in axes_here.items():
            # Filed by second token: a text's next token picks its few candidates at once.
            by_second: dict[str, list[tuple[Phrase, Groups]]] = {}
            single: Groups | None = None
            for phrase, counted in sorted(entries, key=lambda e: -len(e[0])):
                if len(phrase) == 1:
                    single = counted
                else:
                    by_second.setdefault(phrase[1], []).append((phrase, counted))
            slots.append((axis, {k: tuple(v) for k, v in by_second.items()}, single))
        index[first] = tuple(slots)
    return index


def _scan(tokens: Sequence[str], index: _Index) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Yield (axis, groups) for each descriptor mention, longest match first within an axis.

    The positions of tokens that start a term are picked in C (a set lookup per token, no
    Python step), so only those few cost a Python iteration. Each axis keeps its own
    "consumed up to" position, so axes never block each other.
    """
    consumed: dict[str, int] = {}
    last = len(tokens) - 1
    for i in itertools.compress(range(len(tokens)), map(index.__contains__, tokens)):
        following = tokens[i + 1] if i < last else ""
        for axis, by_second, single in index[tokens[i]]:
            if consumed.get(axis, 0) > i:
                continue
            # Longest first; the one-token term, the shortest, is the last resort.
            longer = next(
                (
                    c
                    for c in by_second.get(following, ())
                    if tuple(tokens[i : i + len(c[0])]) == c[0]
                ),
                None,
            )
            if longer is not None:
                size, groups = len(longer[0]), longer[1]
            elif single is not None:
                size, groups = 1, single
            else:
                continue
            consumed[axis] = i + size
            if groups:
                yield axis, groups


# ---------------------------------------------------------------------------------------------
# Loading and validating a lexicon file
# ---------------------------------------------------------------------------------------------


def load_lexicon(path: Path | str | None = None) -> Lexicon:
    """Read and validate a lexicon YAML file; ``None`` gives synthloom's own lexicon.

    The file's shape is documented at the top of ``lexicon.yaml``. A wrong file raises
    :class:`~synthloom.errors.ConfigError` naming the file, line and field.
    """
    if path is None:
        return _default_lexicon()
    return _load_lexicon_file(Path(path))


@functools.cache
def _default_lexicon() -> Lexicon:
    return _load_lexicon_file(DEFAULT_LEXICON_PATH)


def _load_lexicon_file(path: Path) -> Lexicon:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("lexicon file not found; check the path", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the lexicon file ({exc.strerror})", path=path) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"lexicon file is not UTF-8 (bad byte at offset {exc.start}); save it as UTF-8",
            path=path,
        ) from exc
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise yaml_syntax_error(exc, path, "not valid YAML: {problem}") from exc
    if root is None:
        raise ConfigError("lexicon file is empty; it needs an 'axes' mapping", path=path)
    axes, exclude = _LexiconReader(path).read(root)
    return Lexicon(axes=axes, exclude=exclude, source=str(path))


class _LexiconReader:
    """Walks the YAML node tree (not the loaded data) so every error can name its line.

    Scalars are taken as the text written, so a term such as ``no`` or ``null`` stays a word
    instead of turning into a boolean or None.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, field: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=node.start_mark.line + 1, field=field)

    def mapping(self, node: yaml.Node, field: str) -> list[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, field, "expected a mapping (key: value lines)")
        items: list[tuple[str, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not str(key_node.value).strip():
                raise self.fail(key_node, field, "keys must be non-empty names")
            key = str(key_node.value).strip()
            if key in seen:
                raise self.fail(key_node, f"{field}.{key}", "appears twice; merge the entries")
            seen.add(key)
            items.append((key, value_node))
        return items

    def terms(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, field, "expected a list of terms, e.g. [woman, women]")
        out: list[str] = []
        for position, item in enumerate(node.value):
            where = f"{field}[{position}]"
            if not isinstance(item, yaml.ScalarNode):
                raise self.fail(item, where, "each term must be a plain string")
            term = " ".join(str(item.value).lower().split())
            if not any(ch.isalnum() for ch in term):
                raise self.fail(item, where, f"term {term!r} has no words to match")
            if term not in out:
                out.append(term)
        return tuple(out)

    def read(
        self, root: yaml.Node
    ) -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, tuple[str, ...]]]:
        axes_node: yaml.Node | None = None
        for key, value in self.mapping(root, "<top level>"):
            if key == "version":
                if not isinstance(value, yaml.ScalarNode) or str(value.value) != "1":
                    raise self.fail(value, "version", "only lexicon version 1 is supported")
            elif key == "axes":
                axes_node = value
            else:
                raise self.fail(root, key, "unknown top-level key; expected 'version' or 'axes'")
        if axes_node is None:
            raise self.fail(root, "axes", "missing; the lexicon needs an 'axes' mapping")
        axes: dict[str, dict[str, tuple[str, ...]]] = {}
        exclude: dict[str, tuple[str, ...]] = {}
        axis_items = self.mapping(axes_node, "axes")
        if not axis_items:
            raise self.fail(axes_node, "axes", "no axes defined")
        for axis, axis_node in axis_items:
            groups_node: yaml.Node | None = None
            for key, value in self.mapping(axis_node, f"axes.{axis}"):
                if key == "groups":
                    groups_node = value
                elif key == "exclude":
                    exclude[axis] = self.terms(value, f"axes.{axis}.exclude")
                else:
                    raise self.fail(
                        axis_node,
                        f"axes.{axis}.{key}",
                        "unknown key; an axis has 'groups' and optionally 'exclude'",
                    )
            if groups_node is None:
                raise self.fail(axis_node, f"axes.{axis}.groups", "missing; list the groups")
            group_items = self.mapping(groups_node, f"axes.{axis}.groups")
            if not group_items:
                raise self.fail(groups_node, f"axes.{axis}.groups", "no groups defined")
            groups: dict[str, tuple[str, ...]] = {}
            for group, terms_node in group_items:
                where = f"axes.{axis}.groups.{group}"
                groups[group] = self.terms(terms_node, where)
                if not groups[group]:
                    raise self.fail(terms_node, where, "a group needs at least one term")
            axes[axis] = groups
            self._check_exclusions(axis, axis_node, groups, exclude.get(axis, ()))
        return axes, exclude

    def _check_exclusions(
        self,
        axis: str,
        axis_node: yaml.Node,
        groups: Mapping[str, tuple[str, ...]],
        excluded: tuple[str, ...],
    ) -> None:
        counted = {tuple(_descriptor_tokens(t)): g for g, terms in groups.items() for t in terms}
        for term in excluded:
            group = counted.get(tuple(_descriptor_tokens(term)))
            if group is not None:
                raise self.fail(
                    axis_node,
                    f"axes.{axis}.exclude",
                    f"{term!r} is also a term of group {group!r}; keep it in one place",
                )
