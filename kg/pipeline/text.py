"""What the rules read: a document's text, built once, and words with POS tags, remembered.

spaCy builds `Doc.text` from the tokens on every access (about 1 µs a character), and the
entity rules, relation rules, NER and extraction each ask for it. A doc's text never changes
(retokenizing keeps it), so the first build is kept in the doc's extension data.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

from spacy.lang.zh import ChineseTokenizer, Segmenter
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

if not Doc.has_extension("kg_text"):
    Doc.set_extension("kg_text", default=None)


_SPACES = re.compile(r"\s+")


def char_doc(vocab: Vocab, text: str) -> Doc:
    """A doc of one token a character, as spaCy's "char" segmenter makes it: a run of whitespace
    is one token, less the single " " that a character before it takes as its trailing space.
    spaCy's own aligns the characters with the text one `str.index` at a time (over the rest of
    the text: quadratic), half of its time on news; this is linear."""
    words: list[str] = []
    spaces: list[bool] = []
    pos = 0
    for m in _SPACES.finditer(text):
        chars = text[pos:m.start()]
        words += chars
        spaces += [False] * len(chars)
        run = m.group()
        if chars and run[0] == " ":
            spaces[-1] = True
            run = run[1:]
        if run:
            words.append(run)
            spaces.append(False)
        pos = m.end()
    words += text[pos:]
    spaces += [False] * (len(text) - pos)
    return Doc(vocab, words=words, spaces=spaces)


class CharTokenizer(ChineseTokenizer):
    """spaCy's Chinese tokenizer (any segmenter), whose "char" segmenter takes char_doc's way, and
    which keeps the text each doc is made from (see doc_text)."""

    def __call__(self, text: str) -> Doc:
        doc = char_doc(self.vocab, text) if self.segmenter == Segmenter.char else super().__call__(text)
        doc._.kg_text = text  # the text it was made from: doc_text need not rebuild it
        return doc


@registry.tokenizers("kg.zh.ChineseTokenizer.v1")
def create_tokenizer(segmenter: str = "char") -> Callable[[Language], ChineseTokenizer]:
    """spacy.zh.ChineseTokenizer's arguments (the segmenter a plain string: see kg.pipeline)."""
    def make(nlp: Language) -> ChineseTokenizer:
        return CharTokenizer(nlp.vocab, segmenter=Segmenter(segmenter))
    return make


def doc_text(doc: Doc) -> str:
    """`doc.text`, built on the first call only."""
    text = doc._.kg_text
    if text is None:
        text = doc._.kg_text = doc.text
    return text


class Tagger:
    """`jieba.posseg.cut` for the rules' short windows (a name's left context, a word bound),
    as a tuple of (word, flag) pairs, exactly as posseg gives them, with two memories: whole
    windows (names and their contexts repeat), and posseg's costly part, its HMM's reading of a
    run of characters outside the dictionary (3/4 of its time), which overlapping windows share."""

    def __init__(self, maxsize: int = 65536):
        import jieba
        import jieba.posseg  # loads posseg's tag table: only when a rule needs it

        jieba.setLogLevel(logging.WARNING)
        self._pos = object.__new__(jieba.posseg.POSTokenizer)
        self._pos.__dict__.update(vars(jieba.posseg.dt))  # shares the loaded dictionary and tag table
        # posseg calls its (name-mangled) __cut_detail for each run of unknown characters
        detail = self._pos._POSTokenizer__cut_detail
        self._pos._POSTokenizer__cut_detail = lru_cache(maxsize=maxsize)(lambda run: tuple(detail(run)))
        self.cut = lru_cache(maxsize=maxsize)(self._cut)

    def _cut(self, text: str) -> tuple:
        return tuple(self._pos.cut(text))
