import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flows.cli.models import eval_command
from nlp.datasets import Example, write_jsonl
from nlp.enrichers import load_enricher
from nlp.transformer import (
    INSTALL_HINT,
    TransformerSentiment,
    import_backend,
    parse_label_map,
    resolve_label_map,
)
from schemas.errors import ModelError

torch = pytest.importorskip("torch", reason="the transformer extra is not installed")
transformers = pytest.importorskip("transformers", reason="the transformer extra is not installed")

WORDS = [
    "rất",
    "tốt",
    "tệ",
    "hài",
    "lòng",
    "thất",
    "vọng",
    "giao",
    "hàng",
    "nhanh",
    "chậm",
    "hỏi",
    "giá",
]
POSITIVE = ["rất tốt", "hài lòng", "giao hàng nhanh", "rất hài lòng", "tốt"]
NEGATIVE = ["rất tệ", "thất vọng", "giao hàng chậm", "rất thất vọng", "tệ"]
NEUTRAL = ["hỏi giá", "giá", "hỏi hàng", "hàng giá", "hỏi"]


def build_tiny_model(path: Path, labels: dict[int, str], *, train_steps: int = 0) -> Path:
    """Build a 2-layer BERT (hidden 32) on a vocabulary written here; save_pretrained it."""
    path.mkdir(parents=True, exist_ok=True)
    vocab = path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8"
    )
    tokenizer = transformers.BertTokenizer(
        vocab=str(vocab), do_lower_case=True, strip_accents=False
    )
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = transformers.BertForSequenceClassification(config)
    if train_steps:
        texts = NEGATIVE + NEUTRAL + POSITIVE
        target = torch.tensor([0] * 5 + [1] * 5 + [2] * 5)
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        model.train()
        for _ in range(train_steps):
            optimizer.zero_grad()
            loss = model(**batch, labels=target).loss
            loss.backward()
            optimizer.step()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny") / "bert", {0: "NEG", 1: "NEU", 2: "POS"}, train_steps=60
    )


def test_tiny_local_model_loads_and_learns_the_obvious(trained_dir: Path) -> None:
    model = TransformerSentiment.load(trained_dir, device="cpu", batch_size=4)
    assert model.version == f"hf:{trained_dir}"
    assert model.label_targets == [0, 1, 2]
    proba = model.predict_proba(["rất hài lòng", "thất vọng", "hỏi giá"])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.argmax(axis=1).tolist() == [2, 0, 1]


def test_batching_and_order_do_not_change_the_result(trained_dir: Path) -> None:
    texts = ["giao hàng chậm", "rất tốt", "", "hỏi giá", "tốt tốt tốt rất tốt"]
    one = TransformerSentiment.load(trained_dir, device="auto", batch_size=1).predict_proba(texts)
    many = TransformerSentiment.load(trained_dir, device="auto", batch_size=8).predict_proba(texts)
    np.testing.assert_allclose(one, many, atol=1e-5)
    assert TransformerSentiment.load(trained_dir).predict_proba([]).shape == (0, 3)


def test_generic_labels_need_a_user_map(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "generic", {0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ModelError, match="pass a label map"):
        TransformerSentiment.load(path)
    binary = TransformerSentiment.load(
        path, label_map=parse_label_map("0:negative,LABEL_1:positive")
    )
    assert binary.covers == [0, 2]
    proba = binary.predict_proba(["rất tốt", "tệ"])
    np.testing.assert_allclose(proba[:, 1], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_label_map_parsing_and_resolution() -> None:
    assert parse_label_map("NEG:negative, POS:Positive") == {"NEG": "negative", "POS": "positive"}
    with pytest.raises(ModelError, match="LABEL:negative"):
        parse_label_map("NEG=negative")
    assert resolve_label_map({0: "tiêu cực", 1: "trung tính", 2: "tích cực"}) == [0, 1, 2]
    assert resolve_label_map({0: "positive", 1: "other", 2: "negative"}) == [2, None, 0]
    with pytest.raises(ModelError, match="model's labels are"):
        resolve_label_map({0: "A"}, {"B": "negative"})


def test_missing_directory_or_unreachable_hub_id_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="hub id"):
        TransformerSentiment.load(str(tmp_path / "nowhere" / "org-model"))
    with pytest.raises(ModelError, match="device"):
        TransformerSentiment.load(tmp_path, device="tpu")


def test_missing_torch_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError) as info:
        import_backend()
    assert INSTALL_HINT in str(info.value)
    assert "pip install 'voc-stream[transformer]'" in str(info.value)


def test_transformer_enricher_wraps_the_backend(trained_dir: Path) -> None:
    enricher = load_enricher(
        "transformer", model_path=f"{trained_dir}|NEG:negative,NEU:neutral,POS:positive"
    )
    assert enricher.version.startswith(f"transformer:hf:{trained_dir}")
    (result,) = enricher.enrich_batch(["rất hài lòng"])
    assert result.sentiment == "positive"
    assert result.model_version == enricher.version


def test_eval_scores_a_transformer_model(trained_dir: Path, tmp_path: Path) -> None:
    rows = [
        Example(t, label, (), None)
        for label, texts in (("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL))
        for t in texts
    ]  # type: ignore[arg-type]
    for split in ("train", "test"):
        write_jsonl(tmp_path / "data" / "tiny" / f"{split}.jsonl", rows)
    out = tmp_path / "results.json"
    args = [
        "--data",
        str(tmp_path / "data"),
        "--transformer",
        str(trained_dir),
        "--no-perturb",
        "--no-corpus",
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(eval_command, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["sentiment_model"] == f"hf:{trained_dir}"
    assert figures["datasets"]["tiny"]["sentiment"]["variants"]["original"]["accuracy"] > 0.9


@pytest.mark.gpu
def test_cuda_device_gives_the_same_probabilities(trained_dir: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    texts = ["rất hài lòng", "thất vọng", "hỏi giá"]
    cpu = TransformerSentiment.load(trained_dir, device="cpu").predict_proba(texts)
    gpu = TransformerSentiment.load(trained_dir, device="cuda").predict_proba(texts)
    np.testing.assert_allclose(cpu, gpu, atol=1e-4)
