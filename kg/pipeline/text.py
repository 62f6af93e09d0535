"""What the rules read: a document's text, built once, and words with POS tags, remembered.

spaCy builds `Doc.text` from the tokens on every access (about 1 µs a character), and the
entity rules, relation rules, NER and extraction each ask for it. A doc's text never changes
(retokenizing keeps it), so the first build is kept in the doc's extension data.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np
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
    run of characters outside the dictionary, which overlapping windows share. That HMM is
    posseg's own model decoded by `PosViterbi` (same path; 0.53 -> 0.12 s on the 1,625 runs
    of stage_benchmark's text)."""

    def __init__(self, maxsize: int = 65536):
        import jieba
        import jieba.posseg  # loads posseg's tag table: only when a rule needs it

        jieba.setLogLevel(logging.WARNING)
        self._pos = object.__new__(jieba.posseg.POSTokenizer)
        self._pos.__dict__.update(vars(jieba.posseg.dt))  # shares the loaded dictionary and tag table
        self._viterbi = PosViterbi(jieba.posseg.char_state_tab_P, jieba.posseg.start_P,
                                   jieba.posseg.trans_P, jieba.posseg.emit_P)
        self._word_run = jieba.posseg.re_han_internal  # posseg cuts each run of these characters alone
        # posseg's (name-mangled) __cut_detail splits a run of unknown characters into blocks
        # and decodes each with __cut: both are looked up on the instance
        self._pos._POSTokenizer__cut = self._hmm_cut
        detail = self._pos._POSTokenizer__cut_detail
        self._pos._POSTokenizer__cut_detail = lru_cache(maxsize=maxsize)(lambda run: tuple(detail(run)))
        self.cut = lru_cache(maxsize=maxsize)(self._cut)

    def _cut(self, text: str) -> tuple:
        return tuple(self._pos.cut(text))

    def narrow(self, text: str, lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
        """The window text[lo:hi] narrowed to the runs of posseg's word characters that hold
        `start` and `end`: posseg cuts each run on its own, so the words there are the same, from
        a shorter window (often one already cut: 其中，北京 and 北京)."""
        word = self._word_run
        if word.match(text, start):
            while start > lo and word.match(text, start - 1):
                start -= 1
            lo = start
        if word.match(text, end - 1):
            run = word.match(text, end, hi)
            hi = run.end() if run else end
        return lo, hi

    def _hmm_cut(self, sentence: str) -> Iterator:
        """posseg's __cut: the decoded (position, tag) states grouped into words."""
        from jieba.posseg import pair

        pos_list = self._viterbi(sentence)
        begin = nexti = 0
        for i, char in enumerate(sentence):
            pos = pos_list[i][0]
            if pos == "B":
                begin = i
            elif pos == "E":
                yield pair(sentence[begin:i + 1], pos_list[i][1])
                nexti = i + 1
            elif pos == "S":
                yield pair(char, pos_list[i][1])
                nexti = i + 1
        if nexti < len(sentence):
            yield pair(sentence[nexti:], pos_list[nexti][1])


class PosViterbi:
    """jieba.posseg.viterbi over numpy arrays: the same states at each step, the same sums in
    the same order (float64), the same tie-break (the larger state wins: states are indexed in
    descending order so that argmax's first maximum is max()'s). jieba compares every pair of
    its 256 states in Python for each unknown character; here a step is a few array operations."""

    def __init__(self, char_states: dict, start_p: dict, trans_p: dict, emit_p: dict):
        from jieba.posseg.viterbi import MIN_FLOAT, MIN_INF

        self.states = sorted(trans_p, reverse=True)
        index = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        self.start = np.array([start_p[s] for s in self.states])
        self.trans = np.full((n, n), MIN_INF)  # a transition posseg lacks
        for a, targets in trans_p.items():
            for b, p in targets.items():
                self.trans[index[a], index[b]] = p
        self.has_next = np.array([bool(trans_p[s]) for s in self.states])
        self.reach = np.isfinite(self.trans)
        self.anything = np.ones(n, bool)
        # emission log-probabilities, a row a character (posseg's MIN_FLOAT where a state never
        # emits it; the last row for characters no state emits)
        self._row = {c: i for i, c in enumerate(sorted({c for probs in emit_p.values() for c in probs}))}
        self.emit = np.full((len(self._row) + 1, n), MIN_FLOAT)
        for j, s in enumerate(self.states):
            self.emit[[self._row[c] for c in emit_p[s]], j] = list(emit_p[s].values())
        self._char_states, self._index = char_states, index
        self._allowed: dict[str, np.ndarray] = {}

    def _char(self, char: str) -> tuple[np.ndarray, np.ndarray]:
        """A character's emission log-probabilities and the states it may take (all, if
        posseg's table does not know it)."""
        allowed = self._allowed.get(char)
        if allowed is None:
            allowed = self.anything
            if char in self._char_states:
                allowed = np.zeros(len(self.states), bool)
                allowed[[self._index[s] for s in self._char_states[char]]] = True
            self._allowed[char] = allowed
        return self.emit[self._row.get(char, -1)], allowed

    def __call__(self, obs: str) -> list[tuple[str, str]]:
        emit, allowed = self._char(obs[0])
        active = np.flatnonzero(allowed)
        score = self.start[active] + emit[active]
        back = []
        for char in obs[1:]:
            live = self.has_next[active]
            prev, prev_score = active[live], score[live]
            expected = self.reach[prev].any(axis=0)
            emit, allowed = self._char(char)
            now = allowed & expected
            if not now.any():
                now = expected if expected.any() else self.anything
            cur = np.flatnonzero(now)
            step = (prev_score[:, None] + self.trans[np.ix_(prev, cur)]) + emit[cur][None, :]
            best = step.argmax(axis=0)
            score = step[best, np.arange(len(cur))]
            back.append((prev, best, cur))
            active = cur
        state = int(active[score.argmax()])
        path = [state]
        for prev, best, cur in reversed(back):
            state = int(prev[best[np.searchsorted(cur, state)]])
            path.append(state)
        return [self.states[i] for i in reversed(path)]
