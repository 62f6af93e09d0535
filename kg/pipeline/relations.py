"""`kg_relations`: a trained linear model over entity pairs, with the structural rules as features.

Candidates are pairs of entities (mentions grouped by normalised name) that
* share a sentence (any order, nested names included: 京东方青岛基地 holds 京东方 and 青岛), or
* are article-level: every body, company, project or zone and the article's home district, its
  city and province (locatedIn), the home district and every project (invests), a person and the
  home district (区领导甲、乙).
Each candidate gets a set of sparse features (types, words between, titles, post chains,
name structure, lexicon hierarchy, article role of the ends); one logistic model per relation
(kg/training/relations.py fits them) gives its probability. Post chains (区财政局党组书记、局长李志强
-> leads 区财政局) and name structure (京东方青岛基地 -> 京东方 invests, locatedIn 青岛) are rules
whose verdicts are features; without a model they are the output. Every rule is a registered
function of kg/pipeline/relation_rules.py that config.cfg lists; this module is the component
(candidates, features, the model, serialization).

Each relation is a plain tuple `(head, tail, label, role, amount, confidence)` whose ends
are `(start_char, end_char, entity_type)`; ends that are not in `doc.ents` (an owner inside
a project name) are also stored in `doc.spans["kg_nested"]`.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import registry

from kg import lexicon
from kg.pipeline.entities import RULES_KEY
from kg.pipeline.text import doc_text
from kg.resolve import canonical_project, norm
from kg.vocab import Names

NESTED_KEY = "kg_nested"
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "relations"
End = tuple[int, int, str]
LABELS = (Names.leads, Names.worksFor, Names.locatedIn, Names.invests)
BODIES = frozenset({Names.Organization, Names.District, Names.Enterprise})
# relation -> (head types, tail types), from ANNOTATION.md
SIGNATURES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    Names.leads: (frozenset({Names.Person}), BODIES),
    Names.worksFor: (frozenset({Names.Person}), BODIES),
    Names.locatedIn: (frozenset({Names.District, Names.Organization, Names.Enterprise, Names.Project}), frozenset({Names.District})),
    Names.invests: (frozenset({Names.Enterprise, Names.Organization, Names.District}), frozenset({Names.Project})),
}
# (head type, tail type) -> the relations whose signature allows it, in the order of LABELS
TYPES = frozenset().union(*(heads | tails for heads, tails in SIGNATURES.values()))
PAIR_LABELS = {(a, b): tuple(x for x in LABELS if a in SIGNATURES[x][0] and b in SIGNATURES[x][1])
               for a in TYPES for b in TYPES}
MAX_GAP = 80  # characters between two mentions of a sentence-level candidate
GOVERNMENT_HEAD = re.compile(r"(省|市|区|县|镇|乡|州|旗)长$")
RELATIVE = re.compile(r"新区|区|市|县|镇|乡|州|旗|省")  # 市委, 区财政局: a body named relative to a place
OWN_PLACE = re.compile(r"(?:我|本|全)(区|县|市|镇|乡|州|旗)")
PROJECT_LIST = re.compile(r"(\[P\](项目|工程)?、)+")
WORDS = Path(__file__).resolve().parents[1] / "data" / "relation_words.json"
# the rules' own confidences, where no model is trained (the model's probability otherwise);
# config.cfg: [components.kg_relations.confidences]
RULE_CONFIDENCE = {"post_chain_top": 0.9, "post_chain_other": 0.8, "name_structure": 0.8}
# the rules of kg/pipeline/relation_rules.py, in the order they run (config.cfg lists them)
SENTENCE_RULES = {"post_chain": "kg.rel.post_chain.v1", "name_structure": "kg.rel.name_structure.v1"}
ARTICLE_RULES = {"section_zone": "kg.rel.section_zone.v1", "heading_zone": "kg.rel.heading_zone.v1",
                 "home_places": "kg.rel.home_places.v1", "bare_titles": "kg.rel.bare_titles.v1",
                 "leader_lists": "kg.rel.leader_lists.v1", "nearest_place": "kg.rel.nearest_place.v1"}
FINISHERS = {"amounts": "kg.rel.amounts.v1"}


class Rel(NamedTuple):
    head: End
    tail: End
    label: str
    role: str | None
    amount: int | None
    confidence: float


def yuan(number: str, unit: str | None) -> int:
    """总投资42亿元 -> 4200000000 (亿 = 10^8, 万 = 10^4)."""
    scale = {"亿": 10**8, "万": 10**4}.get(unit or "", 1)
    return round(float(number) * scale)


# -- the model -------------------------------------------------------------------------------
@dataclass
class LinearModel:
    """One logistic model per relation over binary features: p = sigmoid(bias + sum of weights)."""
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    bias: dict[str, float] = field(default_factory=dict)
    threshold: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.weights)

    # (label, head type) -> feature -> its weights, its own and its head-typed copy's (see `score`);
    # built on first use: the weights are fixed by then
    by_type: dict[tuple[str, str], dict[str, tuple[float, ...]]] = field(default_factory=dict, init=False, repr=False,
                                                                        compare=False)

    def prob(self, label: str, feats: Iterable[str]) -> float:
        w = self.weights.get(label, {})
        # the set operation runs in C; its order follows string hashes, which differ between processes,
        # so the sum is fsum (exactly rounded, order-free): a worker and the main process give the same bytes
        return _sigmoid(self.bias.get(label, 0.0) + math.fsum(map(w.__getitem__, w.keys() & feats)))

    def score(self, label: str, head_type: str, feats: Iterable[str]) -> float:
        """`prob(label, feats | {f"{head_type}:{f}" for f in feats})` without building the typed
        features: one lookup gives both weights of a feature. No feature name starts with a type
        (they are lowercase), so the two kinds never coincide: fsum adds the same weights."""
        ws = self.by_type.get((label, head_type))
        if ws is None:
            lists: dict[str, list[float]] = {}
            prefix = head_type + ":"
            for f, v in self.weights.get(label, {}).items():
                lists.setdefault(f[len(prefix):] if f.startswith(prefix) else f, []).append(v)
            # tuples of floats: the garbage collector stops tracking them (lists it would scan for good)
            ws = self.by_type[(label, head_type)] = {f: tuple(v) for f, v in lists.items()}
        return _sigmoid(self.bias.get(label, 0.0) + math.fsum(chain.from_iterable(map(ws.__getitem__, ws.keys() & feats))))

    def to_dict(self) -> dict:
        return {"weights": self.weights, "bias": self.bias, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: dict) -> LinearModel:
        return cls(data.get("weights", {}), data.get("bias", {}), data.get("threshold", {}))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# -- entities of one doc ---------------------------------------------------------------------
@dataclass
class Group:
    """All mentions of one entity in a doc (same normalised name)."""
    key: str
    type: str
    spans: list[Span]

    forms: set[str] = field(default_factory=set)   # normalised surface forms
    text: str = ""                                  # the first mention's
    looked_up: bool = False                         # `division` below is filled in
    division: lexicon.Division | None = None

    def add(self, span: Span, text: str) -> None:
        """`text`: the span's text (Span.text builds a string from the tokens on every access)."""
        self.spans.append(span)
        self.forms.add(norm(text))
        self.text = self.text or text

    @property
    def end(self) -> End:
        s = self.spans[0]
        return (s.start_char, s.end_char, self.type)

    @cached_property
    def stems(self) -> tuple[str, ...]:
        """Its forms, also without a division's suffix, that a name may start with (read once the
        groups are complete)."""
        return tuple(a for f in self.forms for a in (f, f.rstrip("区县市镇乡")) if len(a) >= 2)


@dataclass
class Instance:
    """One pair of mentions in one sentence."""
    feats: set[str]
    ends: tuple[End, End]
    role: str | None = None


@dataclass
class Candidate:
    """A pair of entities: what holds wherever they are (`feats`) and each shared sentence's
    own features; a relation holds where at least one view of it says so (the max)."""
    head: Group
    tail: Group
    feats: set[str] = field(default_factory=set)
    instances: list[Instance] = field(default_factory=list)
    article: Instance | None = None  # where the article as a whole states it (区领导甲、乙)
    plain: list[tuple[frozenset[str], Instance | None]] = field(default_factory=list)  # `views` without the types

    def finish(self) -> None:
        """The feature sets to score."""
        self.feats.add(f"n_cooc={min(len(self.instances), 3)}")
        feats = frozenset(self.feats)
        self.plain = [(feats | i.feats, i) for i in self.instances]
        if self.article is not None or not self.plain:
            self.plain.append((feats, self.article))

    @property
    def views(self) -> list[tuple[frozenset[str], Instance | None]]:
        """The feature sets the model weighs: each also conjoined with the head's type (what
        training reads; `best` scores `plain` without building them)."""
        prefix = self.head.type + ":"
        return [(fs | {prefix + f for f in fs}, i) for fs, i in self.plain]

    def best(self, model: LinearModel, label: str) -> tuple[float, Instance | None]:
        return max(((model.score(label, self.head.type, fs), i) for fs, i in self.plain), key=lambda pi: pi[0])


def _registered(names: dict[str, str]) -> dict[str, Callable]:
    return {key: registry.misc.get(name)() for key, name in names.items()}


class RelationExtractor:
    """The rule functions come from config.cfg (default: all of kg/pipeline/relation_rules.py)."""

    def __init__(self, name: str, model: str | None = None, threshold: float = 0.5, heading_nearest: bool = True,
                 sentence_rules: dict[str, Callable] | None = None, article_rules: dict[str, Callable] | None = None,
                 finishers: dict[str, Callable] | None = None, confidences: dict[str, float] | None = None):
        self.name = name
        self.heading_nearest = heading_nearest
        self.sentence_rules = list((sentence_rules if sentence_rules is not None else _registered(SENTENCE_RULES)).values())
        self.article_rules = list((article_rules if article_rules is not None else _registered(ARTICLE_RULES)).values())
        self.finishers = list((finishers if finishers is not None else _registered(FINISHERS)).values())
        self.confidences = {**RULE_CONFIDENCE, **(confidences or {})}
        for rule in (*self.sentence_rules, *self.article_rules, *self.finishers):
            if not callable(rule):
                raise TypeError(f"{name}: a rule must be a function (config.cfg names one in the misc registry), not {rule!r}")
        self.lex = lexicon.load()
        self.title_re = re.compile("|".join(map(re.escape, sorted(self.lex.titles, key=len, reverse=True))))
        self.default_threshold = threshold
        path = Path(model) if model else DEFAULT_MODEL
        self.model = LinearModel()
        self.set_words(relation_words())  # until initialize or from_disk
        if (path / "model.json").exists():
            self.from_disk(path)
        if not Doc.has_extension("relations"):
            Doc.set_extension("relations", default=[])

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   words: dict | None = None) -> None:
        """Word lists come in here (config: [initialize.components.kg_relations.words])."""
        if words is not None:
            self.set_words(words)

    # -- serialization (no pickle: the weights and word lists are JSON) ------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "model.json", self.model.to_dict())
        srsly.write_json(path / "words.json", self.words)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RelationExtractor:
        path = Path(path)
        self.model = LinearModel.from_dict(srsly.read_json(path / "model.json"))
        if (path / "words.json").exists():
            self.set_words(srsly.read_json(path / "words.json"))
        return self

    def set_words(self, words: dict[str, list[str]]) -> None:
        """The word lists; a list `words` lacks keeps its default (kg/data/relation_words.json)."""
        self.words = {**relation_words(), **words}
        self.cues: tuple[str, ...] = tuple(self.words["cues"])

    # -- the component -------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        doc._.relations = [tuple(r) for r in self.predict(doc)]
        return doc

    def predict(self, doc: Doc) -> list[Rel]:
        text = doc_text(doc)
        cands, rule_rels = self.candidates(doc, text)
        return self.decide(text, cands, rule_rels, self.model)

    def decide(self, text: str, cands: dict[str, dict[tuple[str, str], Candidate]], rule_rels: list[Rel],
               model: LinearModel) -> list[Rel]:
        """The relations whose probability reaches the label's threshold (the rules' own
        relations where no model is trained)."""
        # every mention of each project, for the finishers (an amount may stand at another mention)
        mentions = {(s.start_char, s.end_char): g.spans for c in cands[Names.invests].values()
                    for g in (c.tail,) for s in g.spans}
        if not model:
            return self.finish(text, rule_rels, mentions)
        out: list[Rel] = []
        best = {label: {key: c.best(model, label) for key, c in pairs.items()} for label, pairs in cands.items()}
        # an entity found in the zone a section heading opens is not also put in the home district
        # (the nearest zone only); measured on the training part: see kg/training/relations.py
        in_heading_zone = {c.head.key for key, c in cands[Names.locatedIn].items() if "heading_zone" in c.feats
                           and best[Names.locatedIn][key][0] >= model.threshold.get(Names.locatedIn, 0.5)}
        for label, pairs in cands.items():
            threshold = model.threshold.get(label, self.default_threshold)
            for key, c in pairs.items():
                p, inst = best[label][key]
                if p < threshold:
                    continue
                if self.heading_nearest and (
                        (label == Names.locatedIn and c.head.key in in_heading_zone and "t_home" in c.feats)
                        or (label == Names.invests and c.tail.key in in_heading_zone and "h_home" in c.feats)):
                    continue
                if label in (Names.leads, Names.worksFor):  # one post per person and body
                    rival = best[Names.worksFor if label == Names.leads else Names.leads].get(key)
                    if rival is not None and rival[0] > p:
                        continue
                head, tail = inst.ends if inst else (c.head.end, c.tail.end)
                role = inst.role if inst else None
                role = role or next((i.role for i in c.instances if i.role), None)
                out.append(Rel(head, tail, label, role, None, round(p, 3)))
        return self.finish(text, out, mentions)

    def finish(self, text: str, rels: list[Rel], mentions: dict[tuple[int, int], list[Span]] | None = None) -> list[Rel]:
        """`mentions`: all mentions of the entity that a relation end is one mention of."""
        for finisher in self.finishers:
            rels = finisher(self, text, rels, mentions or {})
        return rels

    def candidates(self, doc: Doc, text: str | None = None) -> tuple[dict[str, dict[tuple[str, str], Candidate]], list[Rel]]:
        """Candidate pairs per relation with their features, and the rules' own relations."""
        from kg.pipeline.relation_rules import ArticleContext, SentenceContext

        text = doc_text(doc) if text is None else text
        sent_spans = list(doc.sents)  # doc.sents builds new Spans on every access
        sents = [(s.start_char, s.end_char) for s in sent_spans]
        sent_starts = [s for s, _ in sents]
        rule_rels: list[Rel] = []
        bare: dict[tuple[int, int], list[str]] = {}
        nested: list[Span] = list(doc.spans.get(NESTED_KEY, []))
        all_ents = list(doc.ents)  # doc.ents and doc.spans build new Spans on every access
        inner = list(doc.spans.get(RULES_KEY, []))
        by_sent_ents, by_sent_parts = _by_sentence(sent_spans, all_ents), _by_sentence(sent_spans, inner)
        for sent in sent_spans:
            ctx = SentenceContext(self, doc, text, sent, by_sent_ents.get(sent.start, []),
                                  by_sent_parts.get(sent.start, []), nested, bare)
            for sentence_rule in self.sentence_rules:
                rule_rels += sentence_rule(ctx)
        known = {(s.start_char, s.end_char) for s in all_ents + nested}
        for r in rule_rels:  # a place inside a committee's name (胶州 in 胶州市委) that a rule names
            for start, end, label in (r.head, r.tail):
                if (start, end) not in known and (span := doc.char_span(start, end, label)) is not None:
                    nested.append(span)
                    known.add((start, end))
        doc.spans[NESTED_KEY] = nested
        spans = _unique(all_ents + nested)
        groups = self.groups(text, spans)
        of_span = {(s.start_char, s.end_char): g for g in groups.values() for s in g.spans}
        places = self.article_places(text, groups)
        rules = {(r.head[:2], r.tail[:2], r.label): r for r in rule_rels}

        cands: dict[str, dict[tuple[str, str], Candidate]] = {label: {} for label in LABELS}
        article = ArticleContext(self, text, spans, sents, groups, of_span, places, rule_rels, bare, cands)
        candidate = article.candidate
        # sentence-level pairs
        by_sent: dict[int, list[Span]] = defaultdict(list)
        for s in spans:
            by_sent[bisect_right(sent_starts, s.start_char) - 1].append(s)
        for i, members in by_sent.items():
            members.sort(key=lambda s: (s.start_char, -s.end_char))
            lo, hi = sents[i] if i >= 0 else (0, len(text))
            sentence = text[lo:hi]
            cue = {w for w in self.cues if w in sentence}
            # (start, end, entity) of each mention: a Span's offsets are properties, read once here
            at = [(s.start_char, s.end_char, of_span[(s.start_char, s.end_char)]) for s in members]
            for i, (s0, e0, h) in enumerate(at):
                for j, (s1, e1, t) in enumerate(at):
                    if i == j or max(s0, s1) - min(e0, e1) > MAX_GAP:
                        continue
                    f = None
                    for label in PAIR_LABELS.get((h.type, t.type), ()):  # those that candidate() may allow
                        c = candidate(label, h, t)
                        if c is None:
                            continue
                        if f is None:  # the same for every label
                            f = self.mention_features(text, members[i], members[j], members[min(i, j) + 1:max(i, j)], cue)
                            f |= {f"rule={x}" for x in LABELS if ((s0, e0), (s1, e1), x) in rules}
                        rule = rules.get(((s0, e0), (s1, e1), label))
                        ends = ((s0, e0, h.type), (s1, e1, t.type))
                        feats = f
                        if rule is not None:
                            last = (rule.role or "").split("、")[-1]
                            feats = f | {"rule", f"rule_role={last}"} | (
                                {"rule_gov_head"} if GOVERNMENT_HEAD.search(last) else set())
                        c.instances.append(Instance(feats, ends, rule.role if rule else None))
        # article-level pairs: each rule, entity by entity
        for g in groups.values():
            for article_rule in self.article_rules:
                article_rule(article, g)
        for label in LABELS:
            for c in cands[label].values():
                c.finish()
        return cands, rule_rels

    # -- features -----------------------------------------------------------------------------
    def groups(self, text: str, spans: list[Span]) -> dict[str, Group]:
        """Mentions grouped into entities by normalised name (a project without its phase or
        generic tail, a division by its code: 胶州 = 胶州市)."""
        out: dict[str, Group] = {}
        for s in sorted(spans, key=lambda s: s.start_char):
            surface = text[s.start_char:s.end_char]
            key = self.group_key(surface, s.label_)
            out.setdefault(key, Group(key, s.label_, [])).add(s, surface)
        for g in out.values():  # the commonest type among its mentions
            g.type = Counter(s.label_ for s in g.spans).most_common(1)[0][0]
        # 交通商务区 = 西海岸交通商务区: a zone's short form that ends exactly one longer zone name
        zones = [g for g in out.values() if g.type == Names.District]
        for g in zones:
            form = min(g.forms, key=len)
            if not form.endswith(self.lex.zone_suffixes) or form in self.lex.zone_suffixes:
                continue
            longer = [z for z in zones if z is not g and z.key in out and any(f.endswith(form) and f != form for f in z.forms)]
            if len(longer) == 1:
                for sp in g.spans:
                    longer[0].add(sp, text[sp.start_char:sp.end_char])
                longer[0].spans.sort(key=lambda sp: sp.start_char)
                del out[g.key]
        return out

    def group_key(self, surface: str, label: str) -> str:
        key = norm(surface)
        if label == Names.Project:
            return "P:" + canonical_project(key)
        div = None
        if label == Names.District:  # 保康 = 保康县: a county's own short form is not in the lexicon
            div = next((self.lex.divisions[f] for f in (key, key + "县", key + "区", key + "市")
                        if f in self.lex.divisions), None)
        return f"D:{div.code}" if div is not None else f"{label[0]}:{key}"

    def division(self, g: Group) -> lexicon.Division | None:
        """The lexicon's division for any form of the entity (longest form first)."""
        if not g.looked_up:
            forms = sorted(g.forms, key=len, reverse=True)
            # a county's own short form (璧山 = 璧山区) is not in the lexicon: as in group_key
            tried = forms + [f + s for f in forms for s in "县区市"] if g.type == Names.District else forms
            g.division = next((self.lex.divisions[f] for f in tried if f in self.lex.divisions), None)
            g.looked_up = True
        return g.division

    def article_places(self, text: str, groups: dict[str, Group]) -> dict:
        """The article's home district, its city and province, and how it names itself (本区)."""
        lex = self.lex
        districts = [g for g in groups.values() if g.type == Names.District and g.forms.isdisjoint(lex.countries)]
        div = self.division
        own = Counter(m.group(1) for m in OWN_PLACE.finditer(text))
        levels = {id(g): d.level if (d := div(g)) is not None else 0 for g in districts}
        zones = [g for g in districts if levels[id(g)] in (0, 3)]

        def rank(g: Group) -> tuple:
            names = g.forms | ({d.name} if (d := div(g)) is not None else set())  # 璧山 as 璧山区: 本区
            return (any(f[-1:] in own for f in names), any(f.endswith("新区") for f in g.forms) or d is not None,
                    len(g.spans), max(map(len, g.forms)))
        home = max(zones, key=rank, default=None)
        cities = [g for g in districts if levels[id(g)] == 2]
        city = max(cities, key=lambda g: len(g.spans), default=None)
        if home is not None and (home_div := div(home)) is not None and (parent := lex.parent(home_div.name)):
            city = next((g for g in cities if div(g) == parent), city)
        provinces = [g for g in districts if levels[id(g)] == 1]
        province = max(provinces, key=lambda g: len(g.spans), default=None)
        if city is not None and (city_div := div(city)) is not None and (parent := lex.parent(city_div.name)):
            province = next((g for g in provinces if div(g) == parent), province)
        return {"home": home, "city": city, "province": province, "own": own}

    def pair_features(self, text: str, h: Group, t: Group, places: dict) -> set[str]:
        """What holds of the two entities wherever they are mentioned."""
        lex = self.lex
        tn = norm(t.text)
        f = {f"sig={h.type}>{t.type}"}
        if not (h.forms.isdisjoint(lex.countries) and h.forms.isdisjoint(lex.bodies)):
            f.add("h_national")
        for role in ("home", "city", "province"):
            place = places.get(role)
            if place is t:
                f.add(f"t_{role}")
            if place is h:
                f.add(f"h_{role}")
        if places.get("own"):
            f.add("own=" + "".join(sorted(places["own"])))
        hd, td = (self.division(h), self.division(t)) if h.type == t.type == Names.District else (None, self.division(t))
        if hd is not None and td is not None:
            f.add(f"lex_levels={hd.level}{td.level}")
            parent = lex.parent(hd.name)
            if parent == td:
                f.add("lex_parent")
            elif parent is not None and lex.parent(parent.name) == td:
                f.add("lex_grandparent")
            else:
                f.add("lex_unrelated")
        elif td is not None:
            f.add(f"t_level={td.level}")
        else:
            f.add("t_unlisted")
        if any(hf.startswith(t.stems) for hf in h.forms):
            f.add("h_starts_with_t")
        if h.type == Names.Organization and (relative := RELATIVE.match(norm(h.text))):
            f.add("relative=" + relative.group())
            f.add(f"relative_to_{tn[-1:]}")
            # 市委 -> 桂林 (the lexicon's 桂林市), not the county: the level the relative name says
            names = t.forms | ({td.name} if td is not None else set())
            f.add("relative_match" if any(n.endswith(relative.group()) for n in names) else "relative_mismatch")
        if not t.forms.isdisjoint(lex.countries):
            f.add("t_country")
        f.add(f"t_suffix={tn[-1:]}")
        if h.type == Names.Project:
            f.add(f"h_mentions={min(len(h.spans), 3)}")
        if len(t.spans) >= 3:
            f.add("t_frequent")
        return f

    def mention_features(self, text: str, a: Span, b: Span, members: list[Span], cue: set[str]) -> set[str]:
        """What one shared sentence says about the pair (a = head mention, b = tail mention;
        `members`: the sentence's mentions that start between them)."""
        f = {"cooc"} | {f"cue={w}" for w in cue}
        if b.start_char >= a.start_char and b.end_char <= a.end_char:
            f.add("t_in_h_start" if b.start_char == a.start_char else "t_in_h")
            return f
        if a.start_char >= b.start_char and a.end_char <= b.end_char:
            f.add("h_in_t")
            return f
        first, second = (a, b) if a.start_char < b.start_char else (b, a)
        between = text[first.end_char:second.start_char]
        f.add("h_first" if first is a else "t_first")
        gap = len(between)
        f.add(f"gap={bucket(gap)}")
        if gap <= 8:
            f.add(f"between={between}")
        # the words between with the entities between written as their type: 的[P]、[P]、
        pattern, pos = [], first.end_char
        for s in sorted((s for s in members if s.start_char >= first.end_char and s.end_char <= second.start_char),
                        key=lambda s: (s.start_char, -s.end_char)):
            if s.start_char >= pos and s.end_char <= second.start_char:
                pattern.append(text[pos:s.start_char])
                pattern.append(f"[{s.label_[0]}]")
                pos = s.end_char
        pattern.append(text[pos:second.start_char])
        shape = PROJECT_LIST.sub("[P]、", "".join(pattern))
        if len(shape) <= 16:
            f.add(f"shape={shape}")
        f |= {f"btw_has={w}" for w in self.cues if w in between}
        inside = [s for s in members if s.start_char >= first.end_char and s.end_char <= second.start_char]
        f.add(f"ents_between={min(len(inside), 3)}")
        if any(s.label_ == b.label_ for s in inside):
            f.add("closer_same_type")
        if a.label_ == Names.Person:
            before = text[max(0, a.start_char - 8):a.start_char]
            title = next((m.group() for m in self.title_re.finditer(before) if m.end() == len(before)), None)
            if title:
                f.add(f"title={title}")
                f.add("title_top" if title in self.lex.top_titles else "title_other")
                if GOVERNMENT_HEAD.search(title):
                    f.add("title_gov_head")
            after_body = text[b.end_char:b.end_char + 8]
            t2 = self.title_re.match(after_body)
            if t2:
                f.add(f"body_title={t2.group()}")
                f.add("body_title_top" if t2.group() in self.lex.top_titles else "body_title_other")
        f.add(f"h_left={text[max(0, a.start_char - 2):a.start_char]}")
        f.add(f"t_right={text[b.end_char:b.end_char + 2]}")
        return f


def bucket(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "2-3" if n <= 3 else "4-7" if n <= 7 else \
        "8-15" if n <= 15 else "16-31" if n <= 31 else "32+"


def _unique(spans: list[Span]) -> list[Span]:
    seen: dict[tuple[int, int], Span] = {}
    for s in spans:
        seen.setdefault((s.start_char, s.end_char), s)
    return list(seen.values())


def _by_sentence(sents: list[Span], spans: list[Span]) -> dict[int, list[Span]]:
    """Spans grouped by the first token of their sentence (spans across a boundary dropped)."""
    starts = [sent.start for sent in sents]
    ends = {sent.start: sent.end for sent in sents}
    out: dict[int, list[Span]] = {}
    for span in spans:
        first = starts[bisect_right(starts, span.start) - 1]
        if span.end <= ends[first]:
            out.setdefault(first, []).append(span)
    return out


@registry.misc("kg.relation_words.v1")
def relation_words(path: str | None = None) -> dict[str, list[str]]:
    """The word lists of kg_relations (default: kg/data/relation_words.json)."""
    data = srsly.read_json(Path(path) if path else WORDS)
    return {k: v for k, v in data.items() if not k.startswith("_")}


@Language.factory("kg_relations", requires=["doc.ents", "doc.sents"], assigns=["doc._.relations"],
                  default_config={"model": None, "threshold": 0.5, "heading_nearest": True,
                                  "sentence_rules": SENTENCE_RULES, "article_rules": ARTICLE_RULES,
                                  "finishers": FINISHERS, "confidences": RULE_CONFIDENCE})
def make_relations(nlp, name: str, model: str | None, threshold: float, heading_nearest: bool,
                   sentence_rules: dict[str, str], article_rules: dict[str, str],
                   finishers: dict[str, str], confidences: dict[str, float]) -> RelationExtractor:
    """The rule tables map a name to a function in spaCy's `misc` registry, run in the order listed.
    They are names, looked up here, and not `@misc` sections that the config system resolves:
    the order of resolved sections is not kept by every confection release (0.1.x sorts them)."""
    return RelationExtractor(name, model, threshold, heading_nearest, _registered(sentence_rules),
                             _registered(article_rules), _registered(finishers), confidences)
