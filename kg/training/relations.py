"""Train and measure `kg_relations` on the annotated news (`kg train`, benchmarks).

Examples are the component's own candidates (entity pairs with sparse features) in the
training articles, labelled by the gold: a pair is positive for a relation when both ends
name gold entities (name or alias) that the gold relates so. Each article is read twice, with
oracle entities (the gold names projected onto the text) and with the pipeline's own, so the
model learns from clean pairs and from the pairs it will really see. One logistic regression
per relation (scikit-learn, liblinear); the weights are stored as JSON by the component.

Model selection uses cross-validation by file over the training part of
kg/training/news_split.json; the evaluation part is only ever scored, never tuned on.
"""
from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.evaluate import Gold, score
from kg.extract import extract
from kg.ingest import read_article
from kg.pipeline.entities import RULES_KEY
from kg.pipeline.relations import (
    DEFAULT_MODEL,
    LABELS,
    NESTED_KEY,
    Candidate,
    Group,
    LinearModel,
    Rel,
    RelationExtractor,
)
from kg.resolve import norm
from kg.types import Article
from kg.vocab import Names

SPLIT = Path(__file__).with_name("news_split.json")


def component(nlp: Language) -> RelationExtractor:
    """The pipeline's kg_relations component."""
    rel = nlp.get_pipe("kg_relations")
    assert isinstance(rel, RelationExtractor)
    return rel
SHARED = Path(__file__).resolve().parents[3] / "shared"


@dataclass
class Item:
    """One article read in one mode, with its candidates computed once."""
    stem: str
    article: Article
    gold: dict
    doc: Doc
    mode: str                      # "oracle" or "pipeline"
    weight: float
    cands: dict[str, dict[tuple[str, str], Candidate]]
    rule_rels: list[Rel]


def corpus(shared: Path = SHARED, part: str = "train") -> list[tuple[str, Path, Path]]:
    """(stem, article, gold) of one part of the news split, or "samples" for the 3 sample articles."""
    if part == "samples":
        return [(g.stem, shared / "corpus" / f"{g.stem}.txt", g) for g in sorted((shared / "gold").glob("*.json"))]
    names = json.loads(SPLIT.read_text("utf-8"))[part]
    return [(Path(n).stem, shared / "news" / "articles" / n, shared / "news" / "gold" / f"{Path(n).stem}.json")
            for n in names]


def oracle_doc(nlp: Language, text: str, gold: dict) -> Doc:
    """The text with the gold entities as its entities: every occurrence of a name or alias,
    longest first; the outermost in doc.ents, the ones inside them in the nested group."""
    doc = nlp.make_doc(text)
    for name in ("sentencizer",):
        doc = nlp.get_pipe(name)(doc)
    forms = sorted(((norm(f), e["type"]) for e in gold["entities"] for f in [e["name"], *e.get("aliases", [])]
                    if len(norm(f)) >= 2), key=lambda ft: -len(ft[0]))
    # the names are normalised (NFKC: 桂林(灵川)…) and the text may write them full-width (桂林（灵川）…):
    # search a copy normalised character by character, so that offsets stay the text's
    searched = "".join(n if len(n := unicodedata.normalize("NFKC", ch)) == 1 else ch for ch in text)
    found: dict[tuple[int, int], str] = {}
    for form, etype in forms:
        for m in re.finditer(re.escape(form), searched):
            found.setdefault((m.start(), m.end()), etype)
    spans = [span for (s, e), t in found.items()
             if (span := doc.char_span(s, e, t, alignment_mode="expand")) is not None]
    spans.sort(key=lambda s: (-(s.end_char - s.start_char), s.start_char))
    outer: list[Span] = []
    taken: set[int] = set()
    for s in spans:
        if taken.isdisjoint(range(s.start, s.end)):
            outer.append(s)
            taken.update(range(s.start, s.end))
    outer_keys = {(s.start_char, s.end_char) for s in outer}
    doc.ents = sorted(outer, key=lambda s: s.start)
    inner = [s for s in spans if (s.start_char, s.end_char) not in outer_keys
             and any(o.start_char <= s.start_char and s.end_char <= o.end_char for o in outer)]
    doc.spans[RULES_KEY] = spans
    doc.spans[NESTED_KEY] = inner
    return doc


def load_items(nlp: Language, files: list[tuple[str, Path, Path]], modes: tuple[str, ...] = ("oracle", "pipeline"),
               weight: float = 1.0) -> list[Item]:
    rel = component(nlp)
    items: list[Item] = []
    articles = [(stem, read_article(path), json.loads(gold.read_text("utf-8"))) for stem, path, gold in files]
    for mode in modes:
        if mode == "oracle":
            docs = [oracle_doc(nlp, a.text, g) for _, a, g in articles]
        else:
            docs = list(nlp.pipe((a.text for _, a, _ in articles), disable=["kg_relations"]))
        for (stem, article, gold), doc in zip(articles, docs):
            cands, rule_rels = rel.candidates(doc)
            items.append(Item(stem, article, gold, doc, mode, weight, cands, rule_rels))
    return items


def labelled(items: list[Item], model: LinearModel | None = None) -> dict[str, tuple[list[frozenset[str]], list[int], list[float]]]:
    """Per relation: feature sets and whether the gold holds the pair. Every view of a
    negative pair is a negative; a positive pair gives all its views, or, given a first
    model, only the view that model finds likeliest (the sentence that states it)."""
    out: dict[str, tuple[list[frozenset[str]], list[int], list[float]]] = {label: ([], [], []) for label in LABELS}
    for it in items:
        gold = Gold(it.gold)

        def ids(g: Group, gold: Gold = gold) -> set[str]:
            return {i for s in g.spans for i in gold.ids(s.text) if not i.startswith("?")}
        for label, pairs in it.cands.items():
            X, y, w = out[label]
            for c in pairs.values():
                positive = any((h, label, t) in gold.rels for h in ids(c.head) for t in ids(c.tail))
                views = [fs for fs, _ in c.views]
                if positive and model and label in model.weights and len(views) > 1:
                    views = [max(views, key=lambda fs: model.prob(label, fs))]
                X += views
                y += [int(positive)] * len(views)
                w += [it.weight] * len(views)
    return out


# per relation, chosen by cross-validation on the training part (choose_thresholds, grid 0.2-0.5)
THRESHOLDS = {Names.leads: 0.4, Names.worksFor: 0.4, Names.locatedIn: 0.2, Names.invests: 0.3}


# inverse L2 strength per relation, chosen by cross-validation on the training part (grid 0.03-1):
# the article-level relations, with many correlated place features, want the stronger prior
REGULARIZATION = {Names.leads: 0.3, Names.worksFor: 0.3, Names.locatedIn: 0.1, Names.invests: 0.1}


def fit(items: list[Item], C: float | None = None, thresholds: dict[str, float] | None = None,
        rounds: int = 2) -> LinearModel:
    """One L2 logistic regression per relation (`C`: one for all, default REGULARIZATION);
    weights kept as a plain dict."""
    thresholds = thresholds or THRESHOLDS
    try:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ImportError("training the relation model needs scikit-learn: pip install -e '.[train]'") from None

    model: LinearModel | None = None
    for _ in range(rounds):
        new = LinearModel(threshold=dict(thresholds or {}))
        for label, (X, y, w) in labelled(items, model).items():
            if len(set(y)) < 2:
                continue
            vec = DictVectorizer()
            matrix = vec.fit_transform([dict.fromkeys(feats, 1) for feats in X]).tocsr()
            matrix.indices, matrix.indptr = matrix.indices.astype("int32"), matrix.indptr.astype("int32")  # liblinear
            clf = LogisticRegression(C=C or REGULARIZATION[label], solver="liblinear", max_iter=1000, random_state=0).fit(matrix, y, sample_weight=w)
            new.weights[label] = {f: round(float(w), 4) for f, w in zip(vec.feature_names_, clf.coef_[0])
                                  if abs(w) >= 1e-3}
            new.bias[label] = float(clf.intercept_[0])
        model = new
    assert model is not None, "rounds must be >= 1"
    return model


def predictions(nlp: Language, items: list[Item], model: LinearModel) -> dict[str, dict]:
    """Gold-format predictions per article: with oracle entities the gold's own entities and
    the relations' ends as written; with the pipeline's entities the full extraction."""
    rel = component(nlp)
    out = {}
    for it in items:
        rels = rel.decide(it.doc.text, it.cands, it.rule_rels, model)
        if it.mode == "oracle":
            text = it.doc.text
            out[it.stem] = {"entities": it.gold["entities"],
                            "relations": [{"head": text[r.head[0]:r.head[1]], "relation": r.label,
                                           "tail": text[r.tail[0]:r.tail[1]]} for r in rels]}
        else:
            it.doc._.relations = [tuple(r) for r in rels]
            out[it.stem] = extract(it.doc, it.article).to_gold()
    return out


def scores(nlp: Language, items: list[Item], model: LinearModel, gold_dir: Path) -> dict[str, dict]:
    """Relation scores per mode ("oracle", "pipeline") through kg.evaluate (= shared/tools/score.py)."""
    out = {}
    for mode in sorted({it.mode for it in items}):
        chosen = [it for it in items if it.mode == mode]
        preds = predictions(nlp, chosen, model)
        res = score_dir(gold_dir, preds, {it.stem for it in chosen})
        out[mode] = res
    return out


def score_dir(gold_dir: Path | list[Path], preds: dict[str, dict], stems: set[str]) -> dict:
    """kg.evaluate.score over only the given articles' gold files."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        dirs = gold_dir if isinstance(gold_dir, list) else [gold_dir]
        for d in dirs:
            for g in d.glob("*.json"):
                if g.stem in stems:
                    (Path(tmp) / g.name).write_text(g.read_text("utf-8"), "utf-8")
        return score(Path(tmp), preds)


def cross_validate(nlp: Language, items: list[Item], gold_dirs: list[Path], folds: int = 4, C: float | None = None,
                   thresholds: dict[str, float] | None = None, seed: int = 7,
                   extra: list[Item] | tuple[()] = ()) -> dict[str, dict]:
    """Relation scores of models each trained without one fold of files (plus `extra`
    training items, e.g. distant examples), pooled over folds."""
    stems = sorted({it.stem for it in items})
    random.Random(seed).shuffle(stems)
    preds: dict[str, dict[str, dict]] = {}
    for k in range(folds):
        held = set(stems[k::folds])
        model = fit([it for it in items if it.stem not in held] + list(extra), C, thresholds)
        for mode in {it.mode for it in items}:
            preds.setdefault(mode, {}).update(
                predictions(nlp, [it for it in items if it.stem in held and it.mode == mode], model))
    return {mode: score_dir(gold_dirs, p, set(stems)) for mode, p in preds.items()}


def train(nlp: Language, shared: Path = SHARED, output: Path | None = None, fraction: float = 1.0,
          C: float | None = None, seed: int = 7, sample_weight: float = 3.0) -> LinearModel:
    """Fit on the training part of the news split (a `fraction` of its files) plus the sample
    articles (weighted `sample_weight`: one newspaper's style, outnumbered by the news);
    thresholds by cross-validation on the same items; write the model into `output` (the
    component's to_disk) when given."""
    files = corpus(shared, "train")
    if fraction < 1.0:
        files = random.Random(seed).sample(files, max(1, round(len(files) * fraction)))
    items = load_items(nlp, files) + load_items(nlp, corpus(shared, "samples"), weight=sample_weight)
    gold_dirs = [shared / "news" / "gold", shared / "gold"]
    model = fit(items, C, choose_thresholds(nlp, items, gold_dirs, C=C))
    if output is not None:
        rel = component(nlp)
        rel.model = model
        rel.to_disk(output)
    return model


def learning_curve(nlp: Language, shared: Path = SHARED, fractions: tuple[float, ...] = (0.25, 0.5, 1.0)) -> list[dict]:
    """Evaluation-part relation scores (oracle and pipeline entities) after training on each
    fraction of the training articles."""
    evaluation = load_items(nlp, corpus(shared, "evaluation"))
    rows = []
    for fraction in fractions:
        model = train(nlp, shared, fraction=fraction)
        res = scores(nlp, evaluation, model, shared / "news" / "gold")
        rows.append({"fraction": fraction, **{mode: r["relations"] for mode, r in res.items()}})
    return rows


def choose_thresholds(nlp: Language, items: list[Item], gold_dir: Path | list[Path], grid: tuple[float, ...] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
                      folds: int = 4, C: float | None = None, seed: int = 7) -> dict[str, float]:
    """Per relation, the threshold with the best cross-validated F1 (oracle and pipeline
    entities summed), over the given (training) items only."""
    stems = sorted({it.stem for it in items})
    random.Random(seed).shuffle(stems)
    models = [(set(stems[k::folds]), fit([it for it in items if it.stem not in set(stems[k::folds])], C))
              for k in range(folds)]
    best: dict[str, tuple[float, float]] = {}
    for th in grid:
        preds: dict[str, dict[str, dict]] = {}
        for held, model in models:
            model = LinearModel(model.weights, model.bias, dict.fromkeys(LABELS, th))
            for mode in {it.mode for it in items}:
                preds.setdefault(mode, {}).update(
                    predictions(nlp, [it for it in items if it.stem in held and it.mode == mode], model))
        res = [score_dir(gold_dir, p, set(stems))["relations"]["by_relation"] for p in preds.values()]
        for label in LABELS:
            f1 = sum(r.get(label, {}).get("f1", 0.0) for r in res)
            if label not in best or f1 > best[label][1]:
                best[label] = (th, f1)
    return {label: th for label, (th, _) in best.items()}


def rebuild(shared: Path = SHARED, output: Path = DEFAULT_MODEL) -> str:
    """`kg train`'s relation step: the shipped model from the training part and the samples,
    with its cross-validated scores on the training part (the evaluation part is not read)."""
    import kg.nlp

    nlp = kg.nlp.build()
    items = load_items(nlp, corpus(shared, "train"))
    gold_dir = shared / "news" / "gold"
    cv = cross_validate(nlp, items, [gold_dir], thresholds=choose_thresholds(nlp, items, gold_dir))
    model = train(nlp, shared, output)
    lines = [f"relation model -> {output} ({sum(map(len, model.weights.values()))} weights, thresholds {model.threshold})",
             "cross-validated on the training part (4 folds by file), relation F1:"]
    for mode, res in cv.items():
        rel = res["relations"]
        per = ", ".join(f"{k} {v['f1']:.3f}" for k, v in rel["by_relation"].items())
        lines.append(f"  {mode} entities: {rel['overall']['f1']:.3f} ({per})")
    return "\n".join(lines)


# DuIE 2.0 predicates that are one of ours: predicate -> (relation, subject is the head)
DUIE = {"董事长": (Names.leads, False), "校长": (Names.leads, False), "总经理": (Names.leads, False),
        "总部地点": (Names.locatedIn, True)}
DUIE_TYPES = {"人物": Names.Person, "企业": Names.Enterprise, "机构": Names.Organization, "学校": Names.Organization,
              "地点": Names.District, "城市": Names.District}


def duie_items(nlp: Language, path: Path, weight: float = 1.0, limit: int | None = None) -> list[Item]:
    """Distant examples from DuIE 2.0 sentences with a 董事长/校长/总经理/总部地点 triple: their
    sentence-level candidates of those relations, labelled by the sentence's triples (its
    other pairs of the same types are negatives; article-level views are dropped: one
    sentence is no article)."""
    rel = component(nlp)
    items: list[Item] = []
    for i, line in enumerate(path.read_text("utf-8").splitlines()):
        row = json.loads(line)
        spo = [s for s in row["spo_list"] if s["predicate"] in DUIE]
        if not spo:
            continue
        entities: dict[str, str] = {}
        relations = []
        for s in row["spo_list"]:
            subj, obj = s["subject"], s["object"]["@value"]
            st, ot = DUIE_TYPES.get(s["subject_type"]), DUIE_TYPES.get(s["object_type"]["@value"])
            if st and ot:
                entities.setdefault(subj, st)
                entities.setdefault(obj, ot)
            if s["predicate"] in DUIE and st and ot:
                label, subject_first = DUIE[s["predicate"]]
                head, tail = (subj, obj) if subject_first else (obj, subj)
                relations.append({"head": head, "relation": label, "tail": tail})
        gold = {"entities": [{"name": n, "type": t, "aliases": []} for n, t in entities.items()],
                "relations": relations}
        text = row["text"]
        doc = oracle_doc(nlp, text, gold)
        cands, rule_rels = rel.candidates(doc, text)
        wanted = {r["relation"] for r in relations}
        for label in LABELS:
            pairs = cands[label] if label in wanted else {}
            for c in pairs.values():
                c.plain = [v for v in c.plain if v[1] is not None and "cooc" in v[0]]
            cands[label] = {k: c for k, c in pairs.items() if c.plain}
        article = Article(f"duie{i}", text, tuple(range(len(text))))
        items.append(Item(f"duie{i}", article, gold, doc, "oracle", weight, cands, rule_rels))
        if limit and len(items) >= limit:
            break
    return items
