"""Label models decide with two thresholds: with and without the rule tables' evidence."""

from __future__ import annotations

import numpy as np

from nlp.cues import default_reader, squeeze
from nlp.datasets import model_text
from nlp.labels import evidence
from nlp.train.labels import tune_thresholds
from nlp.types import MessageContext


def test_evidence_marks_the_topics_whose_keywords_match_and_the_flags_whose_cues_do() -> None:
    readings = default_reader().read_all(
        [model_text("giao hàng chậm quá, thanh toán bị lỗi"), model_text("dạ vâng")],
        [MessageContext("chat"), MessageContext("chat")],
    )
    topics = evidence(readings, ("delivery", "payment", "price"), "topics")
    assert topics.tolist() == [[True, True, False], [False, False, False]]
    flags = evidence(readings, ("complaint", "praise"), "flags")
    assert flags.shape == (2, 2)
    assert not flags[1].any()


def test_each_part_gets_its_own_threshold() -> None:
    # with evidence, the label is right from 0.3; without it, only from 0.8
    proba = np.array([[0.3], [0.35], [0.2], [0.8], [0.85], [0.5], [0.4]])
    gold = np.array([[True], [True], [False], [True], [True], [False], [False]])
    seeded = np.array([[True], [True], [True], [False], [False], [False], [False]])
    plain, with_seed = tune_thresholds(proba, gold, min_support=1, seeded=seeded)
    assert 0.2 < with_seed[0] <= 0.3
    assert 0.5 < plain[0] <= 0.8
    # without evidence given, one threshold serves both
    same_plain, same_seed = tune_thresholds(proba, gold, min_support=1)
    assert same_plain[0] == same_seed[0]


def test_filler_words_match_elongated() -> None:
    assert squeeze("vanggg") == "vang"
    assert squeeze("daaa") == "da"
    reader = default_reader()
    for text in ("dạ vângg ạ", "daaa vangg", "oke chị, em đợi nha", "để em kiểm tra lại đã nha"):
        assert reader.read(model_text(text), MessageContext("chat")).filler, text
    for text in ("chờ mãi không thấy hàng", "không ai nghe máy, đợi 2 tiếng rồi"):
        assert not reader.read(model_text(text), MessageContext("chat")).filler, text


def test_filler_covers_typed_forms_but_not_words_that_evaluate() -> None:
    reader = default_reader()
    # shop and thanks as people mistype them, southern particles
    # "sorry" is read in the canonical i spelling ("sorri"), as the list's words now are
    for text in (
        "oke sóp",
        "cám ơn shpo",
        "ok hen",
        "cảm ưn",
        "thnak you shop",
        "bai nha",
        "sorry shop",
    ):
        assert reader.read(model_text(text), MessageContext("chat")).filler, text
    # without marks these read as filler words ("chấm", "ơn"); typed with them they evaluate
    for text in ("chậm", "ờ chậm", "tạm ổn"):
        assert not reader.read(model_text(text), MessageContext("chat")).filler, text
