"""The pkuseg segmenter: a tiny model trained inside the test (seconds), then the pipeline on it."""
from __future__ import annotations

import inspect

import pytest

spacy_pkuseg = pytest.importorskip("spacy_pkuseg")

# Segmented sentences, words separated by spaces. The trainer needs at least 10 of them
# (it updates every len(train) // 10 sentences).
TRAIN = [
    "区 财政局 党组 书记 、 局长 出席 会议 。",
    "推进 项目 建设 ， 总 投资 亿元 。",
    "本报 记者 报道 。",
    "区 商务局 副局长 介绍 情况 。",
    "加快 推进 基地 建设 。",
    "会议 由 书记 主持 。",
    "企业 签约 落户 新区 。",
    "全区 经济 持续 发展 。",
    "记者 采访 了 局长 。",
    "项目 今年 开工 建设 。",
    "区长 出席 活动 并 讲话 。",
    "我们 将 继续 努力 。",
]
SENTENCE = "区财政局党组书记、局长张志远出席会议。"


@pytest.fixture(scope="module")
def pkuseg_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pkuseg")
    train, test, model = folder / "train.txt", folder / "test.txt", folder / "model"
    train.write_text("\n".join(TRAIN) + "\n", encoding="utf-8")
    test.write_text("\n".join(TRAIN[:4]) + "\n", encoding="utf-8")
    kwargs = {"train_iter": 2} if "train_iter" in inspect.signature(spacy_pkuseg.train).parameters else {}
    spacy_pkuseg.train(str(train), str(test), str(model), **kwargs)
    assert any(model.iterdir()), "pkuseg training wrote no model"
    return model


def test_pipeline_with_trained_pkuseg_model(pkuseg_model):
    import kg.nlp
    nlp = kg.nlp.build("pkuseg", pkuseg_model=pkuseg_model)
    assert nlp.tokenizer.segmenter == "pkuseg"
    assert nlp.pipe_names == ["sentencizer", "kg_sentence_bounds", "kg_ner", "kg_entities", "kg_relations"]
    doc = nlp(SENTENCE)
    tokens = [t.text for t in doc]
    assert "".join(tokens) == SENTENCE
    assert any(len(t) > 1 for t in tokens)  # the model segments words, not characters
    # the rules work on characters and snap to tokens, so the name is covered whatever the words
    assert any(e.label_ == "Person" and "张志远" in e.text for e in doc.ents), [(e.text, e.label_) for e in doc.ents]


def test_pkuseg_model_as_str(pkuseg_model):
    import kg.nlp
    nlp = kg.nlp.build("pkuseg", pkuseg_model=str(pkuseg_model))
    assert "".join(t.text for t in nlp("区商务局副局长刘海涛介绍情况。")) == "区商务局副局长刘海涛介绍情况。"


def test_pkuseg_without_model_is_refused():
    import kg.nlp
    with pytest.raises(ValueError, match="pkuseg"):
        kg.nlp.build("pkuseg")


def test_unknown_segmenter_is_refused():
    import kg.nlp
    with pytest.raises(ValueError):
        kg.nlp.build("nope")


def test_cli_pkuseg_without_model_is_a_usage_error(tmp_path, capsys):
    import kg.cli
    (tmp_path / "a.txt").write_text(SENTENCE + "\n", encoding="utf-8")
    assert kg.cli.main(["extract", str(tmp_path / "a.txt"), "--segmenter", "pkuseg",
                        "--out", str(tmp_path / "out")]) == 2
    assert "pkuseg" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_with_pkuseg_model(pkuseg_model, tmp_path, capsys):
    import json

    import kg.cli
    (tmp_path / "a.txt").write_text(SENTENCE + "\n", encoding="utf-8")
    rc = kg.cli.main(["extract", str(tmp_path / "a.txt"), "--segmenter", "pkuseg",
                      "--pkuseg-model", str(pkuseg_model), "--out", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().err
    gold = json.loads((tmp_path / "out" / "a.json").read_text("utf-8"))
    assert gold["doc"] == "a.txt"
    assert any(e["type"] == "Person" and "张志远" in e["name"] for e in gold["entities"])
