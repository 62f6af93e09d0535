"""kg/pipeline/text.py and kg_ner's inference: the faster ways must give what the plain ones give."""
from __future__ import annotations

import random

import jieba.posseg
import numpy as np
import spacy
from conftest import CORPUS_FILES
from thinc.api import use_ops

from kg.pipeline import inference
from kg.pipeline.ner import DEFAULT_MODEL, chunks
from kg.pipeline.text import PosViterbi, Tagger, doc_text


def test_doc_text_is_doc_text_and_built_once():
    doc = spacy.blank("zh")("区商务局副局长刘海涛介绍了情况。\n第二段。")
    assert doc._.kg_text is None
    assert doc_text(doc) == doc.text
    assert doc._.kg_text == doc.text  # kept: the next call does not rebuild it


def test_tagger_cuts_as_posseg_does():
    """Windows overlap and share runs of unknown characters (the memory's key): every window
    still gets posseg's own words and flags, in order."""
    text = CORPUS_FILES[0].read_text("utf-8")[:3000]
    windows = [text[i:i + n] for n in (6, 11, 20) for i in range(0, len(text) - n, 3)]
    tagger = Tagger()
    for window in windows * 2:  # the second pass reads from the memories
        assert [(w.word, w.flag) for w in tagger.cut(window)] == \
            [(w.word, w.flag) for w in jieba.posseg.cut(window)], window


def test_pos_viterbi_decodes_as_posseg_does():
    """The same path as jieba's own decoder, on runs of characters its tables know, do not know
    (every state possible, ties in the sums), and repeated ones."""
    from jieba.posseg import char_state_tab_P, emit_P, start_P, trans_P
    from jieba.posseg.viterbi import viterbi

    rng = random.Random(7)
    chars = sorted({c for c in CORPUS_FILES[0].read_text("utf-8") if "\u4e00" <= c <= "\u9fff"})
    chars += [chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(300)] + ["𠀀", "〇", "々"]
    ours = PosViterbi(char_state_tab_P, start_P, trans_P, emit_P)
    for _ in range(1500):
        run = "".join(rng.choice(chars) for _ in range(rng.randint(1, 9)))
        assert ours(run) == viterbi(run, char_state_tab_P, start_P, trans_P, emit_P)[1], run


def test_ner_cnn_predicts_the_same_numbers_through_the_fast_forwards():
    """kg.pipeline.inference: the tok2vec's output is thinc's own, bit for bit (characters repeated
    within and across docs, whitespace, an empty doc), and training still runs thinc's forwards."""
    with use_ops("numpy", use_blis=False):
        plain = spacy.load(DEFAULT_MODEL)
        fast = spacy.load(DEFAULT_MODEL)
    depth = fast.config["components"]["tok2vec"]["model"]["encode"]["depth"]
    assert inference.speed_up(fast.get_pipe("tok2vec").model) == 2 * (depth + 1) + 1  # maxouts, norms, embedding
    texts = [CORPUS_FILES[0].read_text("utf-8")[:1500], "区区区区长长", "", "ＡＢ公司 2024年\n\n甲 乙"]
    texts += _WHITESPACE_MIXES[:50]
    ours = [d.tensor for d in fast.get_pipe("tok2vec").pipe(fast.make_doc(t) for t in texts)]
    theirs = [d.tensor for d in plain.get_pipe("tok2vec").pipe(plain.make_doc(t) for t in texts)]
    for text, a, b in zip(texts, ours, theirs):
        assert a.shape == b.shape and np.array_equal(a, b), text
    # one doc a batch, from a character to a few hundred, few distinct ones or many: BLAS takes
    # other kernels for products of few rows
    long = CORPUS_FILES[1].read_text("utf-8")
    alone = ["哈", "哈哈哈", "哈 哈", "区区区区长长", "xxxxx", "——", "2020", "……" * 40, "哈" * 300]
    alone += [long[:n] for n in (5, 20, 63, 64, 65, 100, 200, 400)] + ["区委书记" * n for n in (10, 16, 17, 40)]
    for text in alone:
        a = fast.get_pipe("tok2vec")(fast.make_doc(text)).tensor
        b = plain.get_pipe("tok2vec")(plain.make_doc(text)).tensor
        assert np.array_equal(a, b), text
    assert inference.speed_up(fast.get_pipe("tok2vec").model) == 0  # wrapped once only
    # nothing of ours is saved with the model
    assert fast.get_pipe("tok2vec").model.to_bytes() == plain.get_pipe("tok2vec").model.to_bytes()
    grads = []
    for nlp in (fast, plain):  # the training path, without dropout's randomness: same gradients
        model = nlp.get_pipe("tok2vec").model
        for node in model.walk():
            if "dropout_rate" in node.attrs:  # Dropout layers and HashEmbed's own
                node.attrs["dropout_rate"] = 0.0
        out, backprop = model.begin_update([nlp.make_doc(t) for t in texts[:2]])
        backprop([np.ones_like(a) for a in out])
        grads.append([node.get_grad("W").copy() for node in model.walk() if node.name == "maxout"])
    assert len(grads[0]) == depth + 1 and all(np.array_equal(a, b) for a, b in zip(*grads))


def test_ner_numpy_ops_find_what_blis_finds(nlp):
    """kg_ner multiplies through numpy's BLAS, not thinc's default blis: the same entities."""
    ner = nlp.get_pipe("kg_ner")
    assert type(ner.nlp.get_pipe("tok2vec").model.ops).__name__ == "NumpyOps"
    assert not ner.nlp.get_pipe("tok2vec").model.ops.use_blis
    text = "\n".join(p.read_text("utf-8") for p in CORPUS_FILES)
    pieces = [text[s:e] for s, e in chunks(text)]
    ours = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in ner.read(pieces)]
    plain = spacy.load(DEFAULT_MODEL)  # thinc's default ops
    theirs = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in plain.pipe(pieces)]
    assert sum(map(len, ours)) > 20
    assert ours == theirs


_WHITESPACE_MIXES = ["县政协副主席宋明宣布青柳湖水库工程开工。", "甲 乙", "甲\u3000乙", "甲\n\n乙 ", " 甲", "", "ＡＢ公司2024年",
                     "甲  乙", "甲 \n 乙", "  ", "\n", "甲 ", " \u3000甲\t\t乙 \n"] + [
    "".join(random.Random(i).choices(["甲", "乙", "A", "1", " ", " ", "\n", "\u3000", "\t", "\r\n"], k=i % 23))
    for i in range(400)]


def test_ner_char_docs_are_its_tokenizers_docs(nlp):
    """kg_ner builds its model's docs itself where a text has no whitespace: the same tokens and
    spaces as the model's tokenizer gives, whitespace of any kind included."""
    ner = nlp.get_pipe("kg_ner")
    for text in _WHITESPACE_MIXES:
        ours, theirs = ner._char_doc(text), ner.nlp.make_doc(text)
        assert [(t.text, t.whitespace_) for t in ours] == [(t.text, t.whitespace_) for t in theirs], text
        assert ours.text == text


def test_pipeline_tokenizer_is_spacys_char_segmenter(nlp):
    """The pipeline's tokenizer builds char docs itself where it can: the same tokens and spaces
    as spaCy's "char" segmenter, whitespace of any kind included; the other segmenters are spaCy's."""
    from spacy.lang.zh import ChineseTokenizer

    from kg.pipeline.text import CharTokenizer
    assert isinstance(nlp.tokenizer, CharTokenizer)
    theirs = ChineseTokenizer(nlp.vocab, segmenter="char")
    for text in _WHITESPACE_MIXES:
        ours = nlp.tokenizer(text)
        assert [(t.text, t.whitespace_) for t in ours] == [(t.text, t.whitespace_) for t in theirs(text)], text
        assert ours._.kg_text == ours.text == text  # kept for doc_text, and it is the doc's text
    jieba = CharTokenizer(nlp.vocab, segmenter="jieba")
    doc = jieba("县政协副主席宣布开工 甲")
    assert [t.text for t in doc] != list("县政协副主席宣布开工 甲") and doc._.kg_text == doc.text


def test_drop_last_block_keeps_every_other_weight(tmp_path):
    """`kg train` stage 3 starts from the stage-2 model less its last CNN block: one block
    fewer in the config, every kept weight the same, a model spaCy loads and runs."""
    from kg.training.ner_finetune import drop_last_block

    deep = spacy.load(DEFAULT_MODEL)
    shallow = spacy.load(drop_last_block(DEFAULT_MODEL, tmp_path / "shallow"))
    depth = deep.config["components"]["tok2vec"]["model"]["encode"]["depth"]
    assert shallow.config["components"]["tok2vec"]["model"]["encode"]["depth"] == depth - 1

    def params(nlp):
        model = nlp.get_pipe("tok2vec").model
        return [node.get_param(n) for node in model.walk(order="dfs_pre") for n in node.param_names if node.has_param(n)]

    kept, before = params(shallow), params(deep)
    assert len(before) - len(kept) == 4  # one block: its maxout W, b and layernorm G, b
    assert all(np.array_equal(a, b) for a, b in zip(kept, before))
    assert shallow.get_pipe("ner").labels == deep.get_pipe("ner").labels
    text = "区委书记张三到某某公司调研。"
    doc = shallow(text)
    assert len(doc) == len(text) and all(e.label_ in deep.get_pipe("ner").labels for e in doc.ents)
