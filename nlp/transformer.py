"""The ``transformer`` backend: any Hugging Face sequence-classification model for sentiment.

:class:`TransformerSentiment` loads a model with ``AutoTokenizer`` and
``AutoModelForSequenceClassification`` from a local directory or a hub id, maps its labels
onto negative / neutral / positive (from the model's ``id2label`` or a user mapping), and
scores batches on CPU or GPU (``device="auto"`` picks CUDA when available).

torch and transformers are imported when a model is loaded, never at import of this module;
without them loading fails with the install command::

    pip install 'voc-stream[transformer]'

No model is downloaded on the development machines: hub ids go through the same code path
and fail there with a :class:`~schemas.errors.ModelError` naming the id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.types import SENTIMENTS, Sentiment
from schemas.errors import ModelError

INSTALL_HINT = "pip install 'voc-stream[transformer]'"

Float64 = npt.NDArray[np.float64]

# Label names models commonly use, lowercased, with the class each means.
KNOWN_LABELS: dict[str, Sentiment] = {
    "negative": "negative",
    "neg": "negative",
    "tiêu cực": "negative",
    "tieu cuc": "negative",
    "bad": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "trung tính": "neutral",
    "trung tinh": "neutral",
    "positive": "positive",
    "pos": "positive",
    "tích cực": "positive",
    "tich cuc": "positive",
    "good": "positive",
}


def import_backend() -> tuple[Any, Any]:
    """Import and return ``(torch, transformers)``, or fail with the install command."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        msg = f"the transformer backend needs torch and transformers: {INSTALL_HINT}"
        raise ModelError(msg) from exc
    return torch, transformers


def parse_label_map(spec: str) -> dict[str, Sentiment]:
    """Parse ``'NEG:negative,NEU:neutral,POS:positive'`` (labels or ids) into a mapping."""
    mapping: dict[str, Sentiment] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        label, sep, target = part.rpartition(":")
        target = target.strip().lower()
        if not sep or not label.strip() or target not in SENTIMENTS:
            msg = f"label map entries look like LABEL:negative|neutral|positive, got {part!r}"
            raise ModelError(msg)
        mapping[label.strip()] = target
    if not mapping:
        msg = f"label map {spec!r} has no entries"
        raise ModelError(msg)
    return mapping


def resolve_label_map(
    id2label: Mapping[int, str], user_map: Mapping[str, Sentiment] | None = None
) -> list[int | None]:
    """For each model output index, the index in SENTIMENTS it counts for (None: ignored).

    ``user_map`` keys may be label names or output ids (as strings); without it the model's
    own label names must be recognizable (``negative``, ``NEG``, ``tích cực``...).
    """
    out: list[int | None] = []
    n_labels = len(id2label)
    for index in range(n_labels):
        name = str(id2label.get(index, index))
        if user_map is not None:
            target = user_map.get(name, user_map.get(str(index)))
        else:
            target = KNOWN_LABELS.get(name.strip().lower())
        out.append(None if target is None else SENTIMENTS.index(target))
    if user_map is None and all(t is None for t in out):
        names = ", ".join(str(id2label.get(i, i)) for i in range(n_labels))
        msg = (
            f"cannot tell which of the model's labels ({names}) mean negative/neutral/positive; "
            "pass a label map such as '0:negative,1:positive'"
        )
        raise ModelError(msg)
    if user_map is not None:
        known = {str(id2label.get(i, i)) for i in range(n_labels)} | {
            str(i) for i in range(n_labels)
        }
        unknown = sorted(set(user_map) - known)
        if unknown:
            msg = f"label map names {unknown}, but the model's labels are {sorted(known)}"
            raise ModelError(msg)
    if not any(t is not None for t in out):
        msg = "the label map leaves no model output mapped to a sentiment"
        raise ModelError(msg)
    return out


@dataclass(frozen=True)
class TransformerConfig:
    """How a transformer model is run."""

    batch_size: int = 32
    max_length: int = 256
    device: str = "auto"


class TransformerSentiment:
    """A Hugging Face sequence classifier scoring (negative, neutral, positive) on batches."""

    def __init__(
        self,
        name: str,
        tokenizer: Any,
        model: Any,
        label_targets: Sequence[int | None],
        config: TransformerConfig,
        device: Any,
    ) -> None:
        self.name = name
        self.tokenizer = tokenizer
        self.model = model
        self.label_targets = list(label_targets)
        self.config = config
        self.device = device
        self.covers = sorted({t for t in self.label_targets if t is not None})
        """Indexes in SENTIMENTS the model can predict (a binary model lacks neutral)."""

    @property
    def version(self) -> str:
        """``hf:<path or hub id>``, stored on every enriched row."""
        return f"hf:{self.name}"

    @classmethod
    def load(
        cls,
        model: str | Path,
        *,
        label_map: Mapping[str, Sentiment] | None = None,
        device: str = "auto",
        batch_size: int = 32,
        max_length: int = 256,
    ) -> TransformerSentiment:
        """Load a local model directory or a hub id; ``device`` is auto, cpu, cuda or cuda:N."""
        torch, transformers = import_backend()
        chosen = _device(torch, device)
        name = str(model)
        local = Path(name).expanduser()
        source = str(local) if local.exists() else name
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            network = transformers.AutoModelForSequenceClassification.from_pretrained(source)
        except (OSError, ValueError, KeyError) as exc:
            where = "directory" if local.exists() else "hub id (no network here?)"
            msg = f"cannot load a sequence-classification model from {where} {name!r}: {exc}"
            raise ModelError(msg) from exc
        id2label = {int(k): str(v) for k, v in (network.config.id2label or {}).items()}
        targets = resolve_label_map(id2label, label_map)
        network.to(chosen)
        network.eval()
        config = TransformerConfig(batch_size=batch_size, max_length=max_length, device=str(chosen))
        return cls(name, tokenizer, network, targets, config, chosen)

    def predict_proba(self, texts: Sequence[str]) -> Float64:
        """(n, 3) probabilities of (negative, neutral, positive), batched and length-sorted."""
        torch, _ = import_backend()
        out = np.zeros((len(texts), 3))
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.config.batch_size):
            chunk = order[start : start + self.config.batch_size]
            encoded = self.tokenizer(
                [texts[i] or " " for i in chunk],
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            )
            encoded = {k: v.to(self.device) for k, v in encoded.items()}
            try:
                with torch.inference_mode():
                    logits = self.model(**encoded).logits
            except RuntimeError as exc:
                msg = f"transformer {self.name} failed on a batch of {len(chunk)}: {exc}"
                raise ModelError(msg) from exc
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64)
            out[chunk] = self._to_sentiments(probs)
        return out

    def _to_sentiments(self, probs: Float64) -> Float64:
        """Sum the model's label probabilities into the three classes, renormalized."""
        out = np.zeros((probs.shape[0], 3))
        for index, target in enumerate(self.label_targets):
            if target is not None:
                out[:, target] += probs[:, index]
        total = out.sum(axis=1, keepdims=True)
        result: Float64 = out / np.maximum(total, 1e-12)
        return result


def _device(torch: Any, requested: str) -> Any:
    """Resolve ``auto`` to CUDA when available, else CPU; validate explicit choices."""
    choice = requested.strip().lower()
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", choice):
        msg = f"device must be auto, cpu, cuda, cuda:N or mps, got {requested!r}"
        raise ModelError(msg)
    if choice.startswith("cuda") and not torch.cuda.is_available():
        msg = f"device {requested!r} asked for, but torch sees no CUDA device"
        raise ModelError(msg)
    return torch.device(choice)
