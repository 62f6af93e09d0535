"""Score extractions against gold files exactly as shared/spec/ANNOTATION.md says.

Same rules as the reference scorer (shared/tools/score.py): NFKC + whitespace-free names,
aliases of gold entities, per-article sets, micro-averaged P/R/F1 overall, per type,
untyped, and per relation. tests/test_evaluate.py checks the two agree.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from kg.resolve import norm
from kg.schema import Schema, load


class Gold:
    def __init__(self, doc: dict):
        self.ents: set[tuple[str, str]] = set()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        for e in doc.get("entities", []):
            gid, typ = norm(e["name"]), e["type"]
            self.ents.add((gid, typ))
            for i, f in enumerate([e["name"]] + list(e.get("aliases") or [])):
                lst = self.forms.setdefault(norm(f), [])
                lst.insert(0, (gid, typ)) if i == 0 else lst.append((gid, typ))
        self.rels = {(self.ids(r["head"])[0], r["relation"], self.ids(r["tail"])[0])
                     for r in doc.get("relations", [])}

    def ids(self, name: str) -> list[str]:
        cands = [gid for gid, _ in self.forms.get(norm(name), [])]
        return list(dict.fromkeys(cands)) or ["?" + norm(name)]

    def entity(self, name: str, typ: str) -> tuple[str, str]:
        cands = self.forms.get(norm(name), [])
        for gid, t in cands:
            if t == typ:
                return gid, typ
        return (cands[0][0] if cands else "?" + norm(name)), typ

    def triple(self, r: dict) -> tuple[str, str, str]:
        hs, ts, rel = self.ids(r["head"]), self.ids(r["tail"]), r["relation"]
        for h in hs:
            for t in ts:
                if (h, rel, t) in self.rels:
                    return h, rel, t
        return hs[0], rel, ts[0]


class Counts:
    def __init__(self):
        self.tp, self.pred, self.gold = Counter(), Counter(), Counter()

    def add(self, key, gold: set, pred: set) -> None:
        self.tp[key] += len(gold & pred)
        self.pred[key] += len(pred)
        self.gold[key] += len(gold)

    def prf(self, key) -> dict:
        tp, p, g = self.tp[key], self.pred[key], self.gold[key]
        P, R = (tp / p if p else 0.0), (tp / g if g else 0.0)
        F = 2 * P * R / (P + R) if P + R else 0.0
        return {"tp": tp, "pred": p, "gold": g, "p": round(P, 4), "r": round(R, 4), "f1": round(F, 4)}

    def group(self, tag: str, schema: Schema | None = None) -> dict:
        """Rows in the ontology's display order; labels it does not know come last, by name."""
        labels = {k[1] for k in {*self.pred, *self.gold} if isinstance(k, tuple) and k[0] == tag}
        return {x: self.prf((tag, x)) for x in sorted(labels, key=(schema or load()).sort_key)}


def score_doc(gold_doc: dict, pred_doc: dict, c: Counts) -> None:
    g = Gold(gold_doc)
    pe = {g.entity(e["name"], e["type"]) for e in pred_doc.get("entities", [])}
    c.add("ent", g.ents, pe)
    for t in {t for _, t in g.ents | pe}:
        c.add(("type", t), {x for x in g.ents if x[1] == t}, {x for x in pe if x[1] == t})
    c.add("untyped", {i for i, _ in g.ents}, {g.ids(e["name"])[0] for e in pred_doc.get("entities", [])})
    pr = {g.triple(r) for r in pred_doc.get("relations", [])}
    c.add("rel", g.rels, pr)
    for rel in {x[1] for x in g.rels | pr}:
        c.add(("rel", rel), {x for x in g.rels if x[1] == rel}, {x for x in pr if x[1] == rel})


def summary(c: Counts, schema: Schema | None = None) -> dict:
    """Overall, untyped and per-type entity scores; overall and per-relation relation scores,
    rows in the display order of `schema` (default: the ontology in use)."""
    schema = schema or load()
    return {"entities": {"overall": c.prf("ent"), "untyped": c.prf("untyped"), "by_type": c.group("type", schema)},
            "relations": {"overall": c.prf("rel"), "by_relation": c.group("rel", schema)}}


def score(gold_dir: Path, predictions: dict[str, dict], schema: Schema | None = None) -> dict:
    """`predictions` maps an article's stem to its gold-format dict; rows follow the display
    order of `schema` (default: the ontology in use)."""
    c, missing, docs = Counts(), [], []
    for gp in sorted(Path(gold_dir).glob("*.json")):
        pred = predictions.get(gp.stem)
        if pred is None:
            missing.append(gp.stem)
        score_doc(json.loads(gp.read_text("utf-8")), pred or {}, c)
        docs.append(gp.stem)
    return {"docs": docs, "missing_pred": missing, **summary(c, schema)}


def table(res: dict) -> str:
    row = lambda name, s: (f"  {name:<16}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}"
                           f"{s['tp']:>6}{s['pred']:>6}{s['gold']:>6}")
    head = f"  {'':<16}{'P':>7}{'R':>7}{'F1':>7}{'tp':>6}{'pred':>6}{'gold':>6}"
    e, r = res["entities"], res["relations"]
    out = [f"docs: {len(res['docs'])}" + (f"  (missing pred: {', '.join(res['missing_pred'])})"
                                          if res["missing_pred"] else ""),
           "entities" + head[8:], row("overall", e["overall"]), row("untyped", e["untyped"])]
    out += [row(t, s) for t, s in e["by_type"].items()]
    out += ["relations" + head[9:], row("overall", r["overall"])]
    out += [row(t, s) for t, s in r["by_relation"].items()]
    return "\n".join(out)
