"""kg/pipeline/text.py and kg_ner's inference: the faster ways must give what the plain ones give."""
from __future__ import annotations

import random

import jieba.posseg
import spacy
from conftest import CORPUS_FILES

from kg.pipeline.ner import DEFAULT_MODEL, chunks
from kg.pipeline.text import Tagger, doc_text


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
