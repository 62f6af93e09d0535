"""What the rules read: a document's text, built once, and words with POS tags, remembered.

spaCy builds `Doc.text` from the tokens on every access (about 1 µs a character), and the
entity rules, relation rules, NER and extraction each ask for it. A doc's text never changes
(retokenizing keeps it), so the first build is kept in the doc's extension data.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from spacy.tokens import Doc

if not Doc.has_extension("kg_text"):
    Doc.set_extension("kg_text", default=None)


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
