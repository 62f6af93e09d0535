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
whose verdicts are features; without a model they are the output.

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
from pathlib import Path
from typing import NamedTuple

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import registry

from kg import lexicon
from kg.pipeline.entities import HAN, RULES_KEY
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
MAX_GAP = 80  # characters between two mentions of a sentence-level candidate
CONNECTOR = re.compile(r"^[、，,（）()\s兼]*$")
AMOUNT = r"(?:总投资|投资总额|计划投资|投资金额|投资)(?:约|超|达|近|为)?(\d+(?:\.\d+)?)\s*(亿|万)?元"
AMOUNT_BEFORE = re.compile(AMOUNT + r"(?:的|建设的|打造的)?[“”\"]?$")  # 投资5亿元的|甲项目
AMOUNT_AFTER = re.compile(r"[^，。；、,;]{0,6}?[，,（(：:]?(?:该项目|项目|其)?" + AMOUNT)  # 甲项目建设，该项目总投资5亿元
GOVERNMENT_HEAD = re.compile(r"(省|市|区|县|镇|乡|州|旗)长$")
COMMITTEE_PLACE = re.compile(r"(.+?[省市区县镇乡州旗盟])(?:委|党委|党工委|政府)$")
GOVERNMENT_POST = re.compile(r"(省|市|区|县|镇|乡|州|旗)长$|秘书长$")  # heads, deputies (副…长) and 秘书长
COUNTED = re.compile(r"[\d一二三四五六七八九十百千]+(?:个|项|批)")
LEADER_LIST = re.compile(r"(区|市|县|省|州|旗|镇)(?:委)?领导")
WORDS = Path(__file__).resolve().parents[1] / "data" / "relation_words.json"
# the rules' own confidences, where no model is trained (the model's probability otherwise)
RULE_CONFIDENCE = {"post chain, top post": 0.9, "post chain, other post": 0.8, "name structure": 0.8}


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

    def prob(self, label: str, feats: Iterable[str]) -> float:
        w = self.weights.get(label, {})
        z = self.bias.get(label, 0.0) + sum(map(w.__getitem__, w.keys() & feats))  # the set operation runs in C
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict:
        return {"weights": self.weights, "bias": self.bias, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: dict) -> LinearModel:
        return cls(data.get("weights", {}), data.get("bias", {}), data.get("threshold", {}))


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
    views: list[tuple[frozenset[str], Instance | None]] = field(default_factory=list)

    def finish(self) -> None:
        """The feature sets to score, each also conjoined with the head's type."""
        self.feats.add(f"n_cooc={min(len(self.instances), 3)}")
        both = lambda fs: frozenset(fs | {f"{self.head.type}:{f}" for f in fs})
        self.views = [(both(self.feats | i.feats), i) for i in self.instances]
        if self.article is not None or not self.views:
            self.views.append((both(self.feats), self.article))

    def best(self, model: LinearModel, label: str) -> tuple[float, Instance | None]:
        return max(((model.prob(label, fs), i) for fs, i in self.views), key=lambda pi: pi[0])


class RelationExtractor:
    def __init__(self, name: str, model: str | None = None, threshold: float = 0.5, heading_nearest: bool = True):
        self.name = name
        self.heading_nearest = heading_nearest
        self.lex = lexicon.load()
        self.title_re = re.compile("|".join(map(re.escape, sorted(self.lex.titles, key=len, reverse=True))))
        self.default_threshold = threshold
        path = Path(model) if model else DEFAULT_MODEL
        self.model = LinearModel()
        self.cues: tuple[str, ...] = tuple(relation_words()["cues"])  # until initialize or from_disk
        if (path / "model.json").exists():
            self.from_disk(path)
        if not Doc.has_extension("relations"):
            Doc.set_extension("relations", default=[])

    def initialize(self, get_examples: Callable[[], Iterable] | None = None, *, nlp: Language | None = None,
                   words: dict | None = None) -> None:
        """Word lists come in here (config: [initialize.components.kg_relations.words])."""
        if words is not None:
            self.cues = tuple(words["cues"])

    # -- serialization (no pickle: the weights and word lists are JSON) ------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "model.json", self.model.to_dict())
        srsly.write_json(path / "words.json", {"cues": list(self.cues)})

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RelationExtractor:
        path = Path(path)
        self.model = LinearModel.from_dict(srsly.read_json(path / "model.json"))
        if (path / "words.json").exists():
            self.cues = tuple(srsly.read_json(path / "words.json")["cues"])
        return self

    # -- the component -------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        doc._.relations = [tuple(r) for r in self.predict(doc)]
        return doc

    def predict(self, doc: Doc) -> list[Rel]:
        text = doc.text  # built from the tokens on every access
        cands, rule_rels = self.candidates(doc, text)
        return self.decide(text, cands, rule_rels, self.model)

    def decide(self, text: str, cands: dict[str, dict[tuple[str, str], Candidate]], rule_rels: list[Rel],
               model: LinearModel) -> list[Rel]:
        """The relations whose probability reaches the label's threshold (the rules' own
        relations where no model is trained)."""
        if not model:
            return with_amounts(text, rule_rels)
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
        return with_amounts(text, out)

    def candidates(self, doc: Doc, text: str | None = None) -> tuple[dict[str, dict[tuple[str, str], Candidate]], list[Rel]]:
        """Candidate pairs per relation with their features, and the rules' own relations."""
        text = doc.text if text is None else text
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
            ents, parts = by_sent_ents.get(sent.start, []), by_sent_parts.get(sent.start, [])
            rule_rels += self.post_chains(text, sent, ents, parts, bare) + self.name_structure(doc, text, ents, parts, nested)
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

        def candidate(label: str, h: Group, t: Group) -> Candidate | None:
            if h.key == t.key:
                return None
            heads, tails = SIGNATURES[label]
            if h.type not in heads or t.type not in tails:
                return None
            c = cands[label].get((h.key, t.key))
            if c is None:
                c = cands[label][(h.key, t.key)] = Candidate(h, t, self.pair_features(text, h, t, places))
            return c

        # sentence-level pairs
        by_sent: dict[int, list[Span]] = defaultdict(list)
        for s in spans:
            by_sent[bisect_right(sent_starts, s.start_char) - 1].append(s)
        for i, members in by_sent.items():
            members.sort(key=lambda s: (s.start_char, -s.end_char))
            lo, hi = sents[i] if i >= 0 else (0, len(text))
            cue = {w for w in self.cues if w in text[lo:hi]}
            for i, a in enumerate(members):
                for j, b in enumerate(members):
                    if i == j or max(a.start_char, b.start_char) - min(a.end_char, b.end_char) > MAX_GAP:
                        continue
                    h, t = of_span[(a.start_char, a.end_char)], of_span[(b.start_char, b.end_char)]
                    f = None
                    for label in LABELS:
                        c = candidate(label, h, t)
                        if c is None:
                            continue
                        if f is None:  # the same for every label
                            f = self.mention_features(text, a, b, members[min(i, j) + 1:max(i, j)], cue)
                            f |= {f"rule={x}" for x in LABELS
                                  if ((a.start_char, a.end_char), (b.start_char, b.end_char), x) in rules}
                        rule = rules.get(((a.start_char, a.end_char), (b.start_char, b.end_char), label))
                        ends = ((a.start_char, a.end_char, h.type), (b.start_char, b.end_char, t.type))
                        feats = f
                        if rule is not None:
                            last = (rule.role or "").split("、")[-1]
                            feats = f | {"rule", f"rule_role={last}"} | (
                                {"rule_gov_head"} if GOVERNMENT_HEAD.search(last) else set())
                        c.instances.append(Instance(feats, ends, rule.role if rule else None))
        # article-level pairs
        home, city, province = places.get("home"), places.get("city"), places.get("province")
        zones = sorted(((s.start_char, of_span[(s.start_char, s.end_char)]) for s in spans if s.label_ == Names.District
                        and of_span[(s.start_char, s.end_char)] not in (home, city, province)), key=lambda z: z[0])
        zone_starts = [z[0] for z in zones]
        headings = []  # 某某区工委书记某某——: a heading that introduces a zone's leader opens its section
        for r in rule_rels:
            if r.label in (Names.leads, Names.worksFor) and r.tail[2] == Names.District and r.tail[:2] in of_span:
                lo, hi = sents[bisect_right(sent_starts, r.tail[0]) - 1]
                if hi - lo < 60 and not re.search(r"[。！？]", text[lo:hi]):
                    headings.append((r.tail[0], of_span[r.tail[:2]]))
        headings.sort(key=lambda h: h[0])
        heading_starts = [h[0] for h in headings]
        for g in groups.values():
            section = None
            if g.type != Names.Person and zones:  # the zone named last before it: a section's subject
                first = g.spans[0].start_char
                i = bisect_right(zone_starts, first - 1) - 1
                while i >= 0 and zones[i][1] is g:
                    i -= 1
                if i >= 0:
                    section = zones[i][1]
                    where = bisect_right(sent_starts, zones[i][0]) - 1
                    here = bisect_right(sent_starts, first) - 1
                    lines = text.count("\n", zones[i][0], first)
                    f = {f"section_sents={_bucket(here - where)}", f"section_lines={_bucket(lines)}",
                         f"section_mentions={min(len(section.spans), 3)}"}
                    if section.text.endswith(self.lex.zone_suffixes):
                        f.add("section_is_zone")
                    for label in (Names.locatedIn, Names.invests):
                        c = candidate(label, g, section) if label == Names.locatedIn else candidate(label, section, g)
                        if c is not None:
                            c.feats |= f | {"section"}
            i = bisect_right(heading_starts, g.spans[0].start_char) - 1 if g.type != Names.Person else -1
            if i >= 0 and headings[i][1] is not g:
                for label in (Names.locatedIn, Names.invests):
                    c = candidate(label, g, headings[i][1]) if label == Names.locatedIn else candidate(label, headings[i][1], g)
                    if c is not None:
                        c.feats |= {"heading_zone"} | ({"heading_is_section"} if headings[i][1] is section else set())
            for place in (home, city, province):
                if place is not None and (c := candidate(Names.locatedIn, g, place)) is not None and section is not None:
                    c.feats.add("has_section")
            if home is not None and (c := candidate(Names.invests, home, g)) is not None and section is not None:
                c.feats.add("has_section")
            titles = [t for sp in g.spans for t in bare.get((sp.start_char, sp.end_char), [])] \
                if g.type == Names.Person else []
            for role, place in (("home", home), ("city", city)):
                if not titles or place is None:
                    continue  # 区长某某: the head of the article's own, unnamed place
                level = {f[-1:] for f in place.forms} | {d.name[-1:] for d in [self.division(place)] if d}
                for label in (Names.leads, Names.worksFor):
                    c = candidate(label, g, place)
                    if c is not None:
                        c.feats |= {f"bare={t}" for t in titles} | {f"bare_{role}"}
                        c.feats |= {"bare_gov_head_match" for t in titles if GOVERNMENT_HEAD.search(t) and t[-2] in level}
                        c.feats |= {"bare_deputy_match" for t in titles if "副" in t and t[-2:-1] in level}
                        c.article = Instance(set(), (g.end, place.end), "、".join(titles))
            for level, place in places.get("leaders", {}).get(g.key, []):
                c = candidate(Names.worksFor, g, place)
                if c is not None:
                    c.feats.add(f"leader_list={level}")
                    c.article = Instance(set(), (g.end, place.end), f"{level}领导")
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
            g.division = next((self.lex.divisions[f] for f in sorted(g.forms, key=len, reverse=True)
                               if f in self.lex.divisions), None)
            g.looked_up = True
        return g.division

    def article_places(self, text: str, groups: dict[str, Group]) -> dict:
        """The article's home district, its city and province; leader lists (区领导甲、乙)."""
        lex = self.lex
        districts = [g for g in groups.values() if g.type == Names.District and not g.forms & lex.countries]
        div = self.division
        own = Counter(m.group(1) for m in re.finditer(r"(?:我|本|全)(区|县|市|镇|乡|州|旗)", text))
        levels = {id(g): d.level if (d := div(g)) is not None else 0 for g in districts}
        zones = [g for g in districts if levels[id(g)] in (0, 3)]

        def rank(g: Group) -> tuple:
            return (any(f[-1:] in own for f in g.forms), any(f.endswith("新区") for f in g.forms) or div(g) is not None,
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
        out: dict = {"home": home, "city": city, "province": province, "own": own}
        leaders: dict[str, list[tuple[str, Group]]] = defaultdict(list)
        people = {norm(g.text): g for g in groups.values() if g.type == Names.Person}
        for m in LEADER_LIST.finditer(text):
            level = m.group(1)
            place = city if level == "市" and not (home and any(f.endswith("市") for f in home.forms)) else home
            if level == "省":
                place = province
            pos = m.end()
            while place is not None:
                name = next((p for p in people if text.startswith(p, pos)), None)
                if name is None:
                    break
                leaders[people[name].key].append((level, place))
                pos += len(name)
                if text[pos:pos + 1] not in ("、", "，", ","):
                    break
                pos += 1
        out["leaders"] = leaders
        return out

    def pair_features(self, text: str, h: Group, t: Group, places: dict) -> set[str]:
        """What holds of the two entities wherever they are mentioned."""
        lex = self.lex
        hn, tn = norm(h.text), norm(t.text)
        f = {f"sig={h.type}>{t.type}"}
        if h.forms & lex.countries or h.forms & lex.bodies:
            f.add("h_national")
        for role in ("home", "city", "province"):
            if places.get(role) is t:
                f.add(f"t_{role}")
            if places.get(role) is h:
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
        if any(hf.startswith(a) for hf in h.forms for tf in t.forms for a in (tf, tf.rstrip("区县市镇乡")) if len(a) >= 2):
            f.add("h_starts_with_t")
        if (relative := re.match(r"新区|区|市|县|镇|乡|州|旗|省", hn)) and h.type == Names.Organization:
            f.add("relative=" + relative.group())
            f.add(f"relative_to_{tn[-1:]}")
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
        f.add(f"gap={_bucket(gap)}")
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
        shape = re.sub(r"(\[P\](项目|工程)?、)+", "[P]、", "".join(pattern))
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

    # -- rules: leads / worksFor from post chains ------------------------------------------
    def post_chains(self, text: str, sent: Span, ents: list[Span], parts: list[Span] | tuple[()] = (),
                    bare: dict[tuple[int, int], list[str]] | None = None) -> list[Rel]:
        """leads / worksFor along each person's chain of posts; `bare` collects the titles that
        name no body (县长某某, 县委副书记、县长某某): posts of the article's own place."""
        out: list[Rel] = []
        places = {(s.start_char, s.end_char) for s in parts if s.label_ == Names.District}
        people = [e for e in ents if e.label_ == Names.Person]
        bodies = [e for e in ents if e.label_ in BODIES]
        chains: dict[int, list[tuple[End | None, str]]] = {}
        for p in people:
            items = self._chain(text, sent.start_char, p.start_char, bodies, people)
            if not items and people.index(p) > 0:
                prev = people[people.index(p) - 1]
                if CONNECTOR.match(text[prev.end_char:p.start_char]) and prev.start_char in chains:
                    items = chains[prev.start_char]  # 区领导甲、乙、丙: the list shares the post
            if not items:
                continue
            chains[p.start_char] = items
            merged: dict[End | None, list[str]] = {}
            for body, title in items:
                if body and body[2] == Names.Organization and GOVERNMENT_HEAD.search(title):
                    # 胶州市委副书记、市长: the mayor heads the city, not the party committee
                    place = max(((a, b) for a, b in places if a == body[0] and b < body[1]),
                                key=lambda ab: ab[1], default=None)
                    named = COMMITTEE_PLACE.match(text, body[0], body[1])
                    if place is None and named and named.end(1) - body[0] >= 3:
                        place = (body[0], named.end(1))  # 青禾市委 -> 青禾市
                    if place is None and bare is not None and text[body[0]] in "区市县镇乡州旗" \
                            and body[1] - body[0] <= 3:
                        bare.setdefault((p.start_char, p.end_char), []).append(title)
                        continue  # 县委副书记、县长: the head of the (unnamed) county
                    body = (place[0], place[1], Names.District) if place else body
                if body is None and bare is not None and GOVERNMENT_POST.search(title):
                    bare.setdefault((p.start_char, p.end_char), []).append(title)
                merged.setdefault(body, []).append(title)
            for body, titles in merged.items():
                if body is None:
                    continue
                top = any(t in self.lex.top_titles for t in titles)
                out.append(Rel((p.start_char, p.end_char, Names.Person), body, Names.leads if top else Names.worksFor,
                               "、".join(titles), None,
                               RULE_CONFIDENCE["post chain, top post" if top else "post chain, other post"]))
        return out

    def _chain(self, text: str, lo: int, person: int, bodies: list[Span],
               people: list[Span] | tuple[()] = ()) -> list[tuple[End | None, str]]:
        """Walk left from a person over titles and bodies joined only by connectors. Past
        another person (集团董事长甲、副总经理乙) only that person's body is taken: 乙's post is
        at the body named for 甲, not 甲's title."""
        items: list[tuple[int, int, str, End | None]] = []  # start, end, kind, body
        pos = person
        crossed = False
        while pos > lo:
            title = next((m for m in self.title_re.finditer(text, max(lo, pos - 8), pos) if m.end() == pos), None)
            body = next((b for b in bodies if b.end_char == pos), None)
            other = next((p for p in people if p.end_char == pos), None) if items else None
            if body is not None:
                items.append((body.start_char, pos, "body", (body.start_char, body.end_char, body.label_)))
                pos = body.start_char
                if crossed:
                    break
            elif other is not None and not crossed and items[-1][2] == "title":
                crossed = True
                pos = other.start_char
            elif title is not None:
                if not crossed:
                    items.append((title.start(), pos, "title", None))
                pos = title.start()
            elif text[pos - 1] in "）)" and items and (open_ := max(text.rfind("（", lo, pos), text.rfind("(", lo, pos))) > lo \
                    and pos - open_ <= 25 and not any(b.start_char > open_ and b.end_char < pos for b in bodies
                                                      if self.title_re.match(text, b.end_char)):
                pos = open_  # an aside in brackets, e.g. 区工商联（民营经济发展局）: its name's alias
            else:
                gap = re.match(r"[、，,（）()\s兼]+$", text[max(lo, pos - 1):pos])
                if gap and (items or text[pos - 1] in "）)"):
                    pos -= 1
                    continue
                break
        if not items or items[0][2] != "title":
            return []
        chain: list[tuple[End | None, str]] = []
        current: End | None = None
        for start, end, kind, end_of_body in reversed(items):
            if kind == "body":
                current = end_of_body
            else:
                chain.append((current, text[start:end]))
        return chain

    # -- rules: locatedIn / invests from the shape of a name -------------------------------
    def name_structure(self, doc: Doc, text: str, ents: list[Span], inner: list[Span],
                       nested: list[Span]) -> list[Rel]:
        out: list[Rel] = []
        for e in ents:
            if e.label_ not in (Names.Project, Names.District):
                continue
            end = (e.start_char, e.end_char, e.label_)
            parts = [s for s in inner if e.start_char <= s.start_char and s.end_char <= e.end_char
                     and (s.start_char, s.end_char) != (e.start_char, e.end_char)]
            base_end = e.start_char + len(canonical_project(text[e.start_char:e.end_char])) \
                if e.label_ == Names.Project else e.end_char
            starts = {s.start_char for s in parts if s.label_ == Names.District}
            # the NER's cut inside a name is a guess: it names an owner only up to a place name
            owner = max((s for s in parts if s.start_char == e.start_char and s.end_char < base_end
                         and s.label_ in (Names.Organization, Names.Enterprise)
                         and (s.kb_id_ != "ner" or s.end_char in starts)), key=len, default=None)
            places = [s for s in parts if s.label_ == Names.District and text[s.start_char:s.end_char] not in self.lex.countries
                      and (owner is None or s.start_char >= owner.end_char)]
            if e.label_ == Names.Project and owner is None and places and places[0].start_char - e.start_char >= 2:
                head = text[e.start_char:places[0].start_char]  # 京东方青岛基地 -> 京东方
                if re.fullmatch(f"[{HAN}“”]+", head) and head not in self.lex.divisions:
                    kind = Names.Organization if re.search(r"大学|学院|院$|所$|中心$", head) else Names.Enterprise
                    owner = doc.char_span(e.start_char, places[0].start_char, kind, alignment_mode="expand")
            if owner is not None and e.label_ == Names.Project:
                nested.append(owner)
                out.append(Rel((owner.start_char, owner.end_char, owner.label_), end, Names.invests, None, None,
                               RULE_CONFIDENCE["name structure"]))
            for place in places:
                if place.end_char - place.start_char < 2:
                    continue
                nested.append(place)
                out.append(Rel(end, (place.start_char, place.end_char, Names.District), Names.locatedIn, None, None,
                               RULE_CONFIDENCE["name structure"]))
        return out

def with_amounts(text: str, rels: list[Rel]) -> list[Rel]:
    """An amount goes on the invests relations of the one project it precedes or follows
    ("投资5亿元的甲项目，投资0.6亿元的乙项目"); a total over several projects goes nowhere."""
    amounts: dict[tuple[int, int], int | None] = {}
    for r in rels:
        if r.label == Names.invests and r.tail[:2] not in amounts:
            amounts[r.tail[:2]] = project_amount(text, r.tail[0], r.tail[1])
    return [r._replace(amount=amounts.get(r.tail[:2])) if r.label == Names.invests and r.amount is None else r
            for r in rels]


def project_amount(text: str, start: int, end: int) -> int | None:
    """The amount written right before (投资5亿元的|甲) or right after (甲|项目，总投资5亿元) one
    project mention, within its clause; None where the clause counts projects (总投资…的3个项目)."""
    clause_start = max(text.rfind(c, 0, start) for c in "，。；！？\n、：") + 1
    before = text[clause_start:start]
    m = AMOUNT_BEFORE.search(before)
    if m and not COUNTED.search(before[m.end():]):
        return yuan(m.group(1), m.group(2))
    in_list = clause_start > 0 and text[clause_start - 1] == "、"  # 甲、乙，总投资5亿元: the list's total
    m = None if in_list else AMOUNT_AFTER.match(text, end, min(len(text), end + 30))
    if m and not COUNTED.search(text[end:m.start(1)]):
        return yuan(m.group(1), m.group(2))
    return None


def _bucket(n: int) -> str:
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
                  default_config={"model": None, "threshold": 0.5, "heading_nearest": True})
def make_relations(nlp: Language, name: str, model: str | None, threshold: float,
                   heading_nearest: bool) -> RelationExtractor:
    return RelationExtractor(name, model, threshold, heading_nearest)
