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


def test_chat_formulae_are_filler_in_chats_and_social_comments_only() -> None:
    reader = default_reader()
    phatic = (
        "chúc shop ngày mới vui vẻ nha",
        "dạ em cảm ơn, chúc shop buôn may bán đắt",
        "chuc shop mot ngay vui ve",
        "chào buổi sáng shop ☀️",
        "good morning ad",
        "đợi mk 5p nha",
        "cho em 2 phút",
        "chờ xíu em đang đi đường",
        "yes ạ",
        "ô kê ạ",
        "hóng các mom rv",
        "ad ơi rep em với",
        "🤝",
    )
    for text in phatic:
        assert reader.read(model_text(text), MessageContext("chat")).filler, text
    assert reader.read(model_text("hóng review"), MessageContext("social")).filler
    # a review or an answer of unknown source that ends on a wish is an evaluation
    for source in ("review", "survey", None):
        context = MessageContext(source)
        assert not reader.read(model_text("chúc shop buôn may bán đắt"), context).filler
        assert not reader.read(model_text("🤝"), context).filler


def test_emoji_do_not_count_toward_the_length_of_a_filler_turn() -> None:
    reader = default_reader()
    chat = MessageContext("chat")
    # ten words and a heart: the heart is not an eleventh word
    assert reader.read(model_text("Tạm biệt nha shop, chúc shop một ngày vui vẻ ❤️"), chat).filler
    assert reader.read(model_text("Tạm biệt nha shop, chúc shop một ngày vui vẻ"), chat).filler
    # eleven words are too many for a filler turn, emoji or not
    long = "Tạm biệt nha shop, chúc shop một ngày thật vui vẻ"
    assert not reader.read(model_text(long), chat).filler
    assert not reader.read(model_text(long + " ❤️"), chat).filler


def test_a_formula_with_words_of_its_own_is_not_filler() -> None:
    reader = default_reader()
    for text in (
        "chúc shop sớm dẹp tiệm",  # no wish words
        "chúc mừng shop lừa được thêm 1 người",
        "đợi 3 tiếng rồi",  # a wait in hours is a grievance
        "chờ mãi không thấy ai rep",
        "đổi ạ",  # "đổi" (exchange) typed with its marks is not "đợi" (wait)
        "shop không rep",
        "chờ 30p rồi đó",  # more than 10 minutes
        "đợi em xíu, cái áo rách rồi",  # a second clause with content
    ):
        assert not reader.read(model_text(text), MessageContext("chat")).filler, text
