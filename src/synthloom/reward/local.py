"""A local reward model: a transformers sequence-classification model with five outputs.

The user gives a folder holding a model saved with ``save_pretrained`` (config, weights,
tokenizer) whose classification head has five labels, one per HelpSteer2 attribute in
``ATTRIBUTES`` order (or labels named after the attributes, in any order). Conversations are
rendered with the tokenizer's chat template when it has one, tokenised in batches with padding
and truncation, and scored without gradients in a worker thread so the event loop keeps serving
the teacher calls in flight. Nothing is ever downloaded: loading is ``local_files_only``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthloom.errors import BackendError, ConfigError, MissingDependencyError
from synthloom.messages import message_text
from synthloom.reward.base import ATTRIBUTES, Conversation, RewardModel, RewardResult

__all__ = ["LocalClassifierReward"]


def _render_plain(conversation: Conversation) -> str:
    return "\n".join(f"{m['role']}: {message_text(m)}" for m in conversation)


class LocalClassifierReward(RewardModel):
    """Scores batches of conversations with a local sequence-classification model."""

    name = "local"

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 16,
        max_length: int = 4096,
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingDependencyError("the local reward model", "embed", "transformers") from exc
        self.path = Path(path)
        if not self.path.is_dir():
            raise ConfigError(
                "is not a folder holding a saved model; give the path of a save_pretrained folder",
                path=self.path,
                field="reward.path",
            )
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                self.path, local_files_only=True
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                self.path, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot load a sequence-classification model ({first})",
                path=self.path,
                field="reward.path",
            ) from exc
        n_labels = int(model.config.num_labels)
        if n_labels != len(ATTRIBUTES):
            raise ConfigError(
                f"the model has {n_labels} outputs; a reward model needs {len(ATTRIBUTES)} "
                f"({', '.join(ATTRIBUTES)})",
                path=self.path,
                field="reward.path",
            )
        labels = {str(v).lower(): int(k) for k, v in (model.config.id2label or {}).items()}
        # Labels named after the attributes say which output is which; otherwise the order.
        if set(ATTRIBUTES) <= set(labels):
            self.columns = [labels[a] for a in ATTRIBUTES]
        else:
            self.columns = list(range(len(ATTRIBUTES)))
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise ConfigError(
                    "the tokenizer has no pad or eos token to pad batches with",
                    path=self.path,
                    field="reward.path",
                )
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model = model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        # A tokenizer saved without model_max_length reports a huge one; the model's position
        # embeddings are the real limit.
        limits = [
            max_length,
            int(getattr(self.tokenizer, "model_max_length", 10**9) or 10**9),
            int(getattr(self.model.config, "max_position_embeddings", 10**9) or 10**9),
        ]
        self.max_length = min(limits)
        # One forward pass at a time: torch already uses every core for one batch.
        self._lock = threading.Lock()
        self._torch: Any = torch

    def render(self, conversation: Conversation) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                [dict(m) for m in conversation], tokenize=False
            )
            return str(text)
        return _render_plain(conversation)

    def score_sync(self, conversations: Sequence[Conversation]) -> list[RewardResult]:
        """Blocking scoring, in batches of ``batch_size``."""
        torch = self._torch
        out: list[RewardResult] = []
        texts = [self.render(c) for c in conversations]
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            encoded = self.tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            try:
                with self._lock, torch.inference_mode():
                    logits = self.model(**encoded).logits.float().cpu().numpy()
            except RuntimeError as exc:  # out of memory and shape errors from torch
                raise BackendError(f"the local reward model failed on a batch ({exc})") from exc
            pairs = list(zip(ATTRIBUTES, self.columns, strict=True))
            for row in logits:
                out.append(RewardResult(attributes={a: float(row[c]) for a, c in pairs}))
        return out

    async def score(self, conversations: Sequence[Conversation]) -> list[RewardResult]:
        return await asyncio.to_thread(self.score_sync, conversations)

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "path": str(self.path)}
