"""Every YAML file synthloom reads reports a syntax error the same way: one line naming the
file and the line of the problem, never a PyYAML traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthloom.assay.gate import load_gate
from synthloom.assay.kinds import load_kinds
from synthloom.assay.lexicon import load_lexicon
from synthloom.errors import ConfigError
from synthloom.recipes.nemotron.config import load_pipeline
from synthloom.taxonomy.yamlio import load_yaml

# A flow sequence left open on line 3: PyYAML marks the problem on a later line.
BROKEN = "# written by hand\nfirst: 1\nsecond: [a, b\nthird: 3\n"


@pytest.mark.parametrize(
    ("reader", "words"),
    [
        pytest.param(load_gate, "invalid YAML", id="gate"),
        pytest.param(load_kinds, "is not valid YAML or JSON", id="kinds"),
        pytest.param(load_lexicon, "not valid YAML", id="lexicon"),
        pytest.param(load_pipeline, "is not valid YAML", id="nemotron-pipeline"),
        pytest.param(load_yaml, "invalid YAML", id="taxonomy-qna"),
    ],
)
def test_a_yaml_syntax_error_names_the_file_and_line(
    tmp_path: Path, reader: Callable[[Path], Any], words: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        reader(path)
    message = str(caught.value)
    assert "\n" not in message
    assert caught.value.path == str(path)
    assert caught.value.line is not None and caught.value.line >= 3
    assert message.startswith(f"{path}:{caught.value.line}: ")
    assert words in message
    # PyYAML's own description of the problem is passed on, not a class name.
    assert "expected ',' or ']'" in message
