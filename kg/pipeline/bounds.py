"""`kg_sentence_bounds`: no sentence longer than `max_chars`.

A list of a thousand companies joined by 、, or a megabyte on one line, is one "sentence" to
the sentencizer. Every mention keeps its sentence as evidence and the relation rules compare
mentions within a sentence, so output and time would grow with sentence length × mentions.
Cut at the last soft break (，、；：, or a space) before the limit, or at the limit if none.
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

SOFT = set("，、,：:；; \u3000")


class SentenceBounds:
    def __init__(self, name: str, max_chars: int):
        self.name = name
        self.max_chars = max_chars

    def __call__(self, doc: Doc) -> Doc:
        cuts: list[int] = []
        for sent in doc.sents:
            if sent.end_char - sent.start_char <= self.max_chars:
                continue
            start, soft = sent.start_char, None
            for tok in sent[1:]:
                if tok.idx + len(tok.text) - start > self.max_chars:
                    cut = soft if soft is not None else tok.i
                    cuts.append(cut)
                    start, soft = doc[cut].idx, None
                if tok.text[-1:] in SOFT and tok.i + 1 < sent.end:
                    soft = tok.i + 1
        for i in cuts:
            doc[i].is_sent_start = True
        return doc


@Language.factory("kg_sentence_bounds", requires=["token.is_sent_start"], assigns=["token.is_sent_start"],
                  default_config={"max_chars": 300})
def make_sentence_bounds(nlp, name: str, max_chars: int) -> SentenceBounds:
    return SentenceBounds(name, max_chars)
