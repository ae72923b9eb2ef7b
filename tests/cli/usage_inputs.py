"""Inputs for the table of bad inputs in test_usage_errors.py: good runs and broken files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fakeserver import FakeServer
from synthloom.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CHAT_ROWS = [
    ("How do I keep basil alive on a windowsill?", "Give it six hours of sun and water when dry."),
    ("what's a good first bread recipe", "A no-knead loaf: flour, water, salt, yeast, patience."),
    ("Explain compound interest to a 12 year old.", "Interest earns interest, like a snowball."),
    ("Translate 'good morning' to Portuguese", "Bom dia."),
    ("Is it safe to run in the heat?", "Go early, drink water, and slow down above 30 °C."),
    ("Suggest a name for a grey cat", "Pebble, Ash, or Earl Grey."),
    ("How long do I boil an egg for a runny yolk?", "About six minutes from boiling."),
    ("why is the sky blue", "Air scatters blue light more than red (Rayleigh scattering)."),
    (
        "Write a haiku about rain",
        "Soft rain on the roof / the kettle begins to sing / no one needs to go",
    ),
    ("Can I freeze cooked rice?", "Yes; cool it fast and freeze within an hour."),
    ("Tips for a first 10k?", "Build up slowly, rest a day between runs, start the race easy."),
    ("What does HTTP 418 mean?", "I'm a teapot: an April Fools' status code from RFC 2324."),
]


def write_chat(path: Path, rows: list[tuple[str, str]], *, bom: bool = False) -> Path:
    lines = []
    for i, (prompt, response) in enumerate(rows):
        record: dict[str, object] = {
            "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": response},
            ]
        }
        if i % 3:  # real exports carry meta only sometimes
            record["meta"] = {"topic": "home" if i % 2 else "food", "score": 3 + i % 3}
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_table(path: Path, n: int, seed: int, *, bom: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": np.round(rng.lognormal(10, 0.5, n), 2),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "member": rng.random(n) < 0.3,
        }
    )
    text = frame.to_csv(index=False)
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry under root, with the bytes of each file of the earlier results (runs/)."""
    return {
        str(p.relative_to(root)): (
            p.read_bytes() if p.is_file() and p.is_relative_to(root / "runs") else None
        )
        for p in sorted(root.rglob("*"))
    }


@dataclass
class Workspace:
    root: Path
    server: FakeServer


def prepare_inputs(root: Path, url: str) -> None:
    data = root / "data"
    data.mkdir()
    write_chat(data / "chat.jsonl", CHAT_ROWS)
    write_chat(data / "ref.jsonl", CHAT_ROWS[::-1][:10])
    write_table(data / "syn.csv", 60, 1)
    write_table(data / "ref.csv", 60, 2)
    (data / "gate.yaml").write_text("- fidelity.overall >= 0.1\n", encoding="utf-8")
    (data / "mix.yaml").write_text(
        "seed: 3\noutputs:\n  - name: train\n    sources:\n      - {file: chat.jsonl, count: 5}\n",
        encoding="utf-8",
    )
    prompts = [{"messages": [{"role": "user", "content": text}]} for text, _ in CHAT_ROWS[:4]]
    (data / "prompts.jsonl").write_text(
        "".join(json.dumps(p) + "\n" for p in prompts), encoding="utf-8"
    )
    nemotron = yaml.safe_load((EXAMPLES / "nemotron_pipeline.yaml").read_text(encoding="utf-8"))
    nemotron["teacher"]["base_url"] = url
    (data / "nemotron.yaml").write_text(yaml.safe_dump(nemotron), encoding="utf-8")
    lab = yaml.safe_load((EXAMPLES / "lab_pipeline.yaml").read_text(encoding="utf-8"))
    lab["teacher"]["base_url"] = url
    (data / "lab.yaml").write_text(yaml.safe_dump(lab), encoding="utf-8")

    bad = root / "bad"
    bad.mkdir()
    (bad / "folder.jsonl").mkdir()
    for name in ("empty.jsonl", "empty.json", "empty.csv", "empty.yaml", "empty.txt"):
        (bad / name).write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for name in ("garbage.jsonl", "garbage.json", "garbage.csv", "garbage.yaml", "garbage.parquet"):
        (bad / name).write_bytes(b"\x00\xff" + noise)
    chat_text = (data / "chat.jsonl").read_text(encoding="utf-8")
    (bad / "utf16.jsonl").write_bytes(chat_text.encode("utf-16"))
    (bad / "utf16.csv").write_bytes((data / "syn.csv").read_text().encode("utf-16"))
    (bad / "utf16.yaml").write_bytes((data / "gate.yaml").read_text().encode("utf-16"))
    (bad / "utf16.txt").write_bytes("The tide comes in twice a day.\n".encode("utf-16"))
    # One 8 MB line: a paste gone wrong, with no newline anywhere.
    (bad / "huge.jsonl").write_text('{"prompt": "' + "spam " * 1_600_000, encoding="utf-8")
    (bad / "huge.csv").write_text("a,b\n" + "x" * 8_000_000, encoding="utf-8")
    (bad / "array_lines.jsonl").write_text('[1, 2]\n"text"\n', encoding="utf-8")
    (bad / "string.json").write_text('"just a string"', encoding="utf-8")
    (bad / "number.json").write_text("42", encoding="utf-8")
    (bad / "messages_str.jsonl").write_text(
        json.dumps({"messages": "hello there"}) + "\n", encoding="utf-8"
    )
    (bad / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    (bad / "scalar.yaml").write_text("just some words\n", encoding="utf-8")
    (bad / "gate_unknown.yaml").write_text("- fidelity.overal >= 0.8\n", encoding="utf-8")
    (bad / "gate_column.yaml").write_text(
        "- fidelity.columns.salary.score >= 0.8\n", encoding="utf-8"
    )
    (bad / "gate_meta.yaml").write_text(
        "fidelity.columns.meta.colour.score: '>= 0.5'\n", encoding="utf-8"
    )
    (bad / "gate_table_on_chat.yaml").write_text(
        "- privacy.membership_inference_auc <= 0.6\n", encoding="utf-8"
    )
    (bad / "gate_nan.yaml").write_text("- fidelity.overall >= nan\n", encoding="utf-8")
    (bad / "gate_section.yaml").write_text("- quality.overall >= 0.5\n", encoding="utf-8")
    # Non-finite numbers where each pipeline takes a float (YAML spells them .nan and .inf).
    non_finite = {
        "nemotron": [
            ("prompt_sampling.temperature", ".nan"),
            ("prompt_sampling.temperature", ".inf"),
            ("prompt_sampling.top_p", ".nan"),
            ("responses.temperature", ".inf"),
        ],
        "lab": [
            ("freeform_skill.generate.temperature", ".nan"),
            ("freeform_skill.generate.top_p", ".nan"),
            ("teacher.rpm", ".inf"),
        ],
    }
    for name, edits in non_finite.items():
        for dotted, value in edits:
            doc = yaml.safe_load((data / f"{name}.yaml").read_text(encoding="utf-8"))
            node = doc
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = "PLACEHOLDER"
            dumped = yaml.safe_dump(doc).replace("PLACEHOLDER", value)
            target = bad / f"{name}_{dotted.replace('.', '_')}_{value[1:]}.yaml"
            target.write_text(dumped, encoding="utf-8")
    (bad / "mix_ratio_inf.yaml").write_text(
        "seed: 3\noutputs:\n  - name: train\n    sources:\n"
        "      - {file: ../data/chat.jsonl, ratio: .inf}\n",
        encoding="utf-8",
    )
    (bad / "a_file").write_text("I am a file, not a folder\n", encoding="utf-8")


def good_runs(url: str) -> None:
    quiet = ["--quiet"]
    runs = [
        ["curate", "data/chat.jsonl", "--out", "runs/curate", *quiet],
        [
            "assay",
            "data/syn.csv",
            "--reference",
            "data/ref.csv",
            "--ner",
            "off",
            "--out",
            "runs/assay",
            *quiet,
        ],
        ["collapse", "--family", "gaussian", "-g", "2", "-n", "200", "-o", "runs/collapse", "-q"],
        ["mix", "data/mix.yaml", "--out", "runs/mix"],
        [
            "complete",
            "data/prompts.jsonl",
            "--base-url",
            url,
            "--model",
            "m",
            "--out",
            "runs/complete",
            *quiet,
        ],
    ]
    for argv in runs:
        assert main(argv) == 0, argv
