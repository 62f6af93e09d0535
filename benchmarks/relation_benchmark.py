"""Relation extraction on ../shared/news: P/R/F1 per relation with oracle entities (the gold's
names projected onto the text: the relation component alone) and with the pipeline's own
entities (end to end), plus speed.

    python benchmarks/relation_benchmark.py cv        # training part, 4-fold CV by file (+/- DuIE)
    python benchmarks/relation_benchmark.py errors    # the same CV's errors per relation, counted by class
    python benchmarks/relation_benchmark.py eval      # the shipped model on the evaluation part and the samples
    python benchmarks/relation_benchmark.py curve     # evaluation-part F1 trained on 25/50/100 % of the training part
    python benchmarks/relation_benchmark.py speed     # chars/s of kg_relations and of the whole extraction

`cv` is where choices are made; `eval` and `curve` only report (the evaluation part is never tuned on).
"""
from __future__ import annotations

import argparse
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

from kg import nlp as kg_nlp
from kg.evaluate import Gold
from kg.training import relations as tr


def rows(name: str, res: dict) -> str:
    rel = res["relations"]
    out = [f"  {name:<28}{'P':>7}{'R':>7}{'F1':>7}{'tp':>6}{'pred':>6}{'gold':>6}"]
    for key, s in [("overall", rel["overall"]), *rel["by_relation"].items()]:
        out.append(f"  {key:<28}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}{s['tp']:>6}{s['pred']:>6}{s['gold']:>6}")
    return "\n".join(out)


def cmd_cv(nlp, shared: Path) -> None:
    items = tr.load_items(nlp, tr.corpus(shared, "train"))
    gold = shared / "news" / "gold"
    rules = tr.scores(nlp, items, tr.LinearModel(), gold)
    for mode, res in rules.items():
        print(rows(f"rules only, {mode}", res))
    th = tr.choose_thresholds(nlp, items, gold)
    print(f"thresholds (CV): {th}")
    for mode, res in tr.cross_validate(nlp, items, [gold], thresholds=th).items():
        print(rows(f"model CV, {mode}", res))
    duie = shared / "datasets" / "duie2_subset" / "duie_train_4000.json"
    if duie.exists():
        distant = tr.duie_items(nlp, duie, weight=0.3)
        for mode, res in tr.cross_validate(nlp, items, [gold], thresholds=th, extra=distant).items():
            print(rows(f"model CV + DuIE ({len(distant)}), {mode}", res))


def error_class(gold: Gold, triple: tuple[str, str, str], home: set[str]) -> str:
    """Why a predicted triple is wrong: an end that is no gold entity, the pair reversed, the
    right head with another tail (or tail with another head), another relation, or none of
    these; "(home)" where the wrong end is the article's home district, city or province."""
    h, label, t = triple

    def mark(ids: set[str]) -> str:
        return " (home)" if ids & home else ""
    if h.startswith("?") or t.startswith("?"):
        return "end not a gold entity"
    if (t, label, h) in gold.rels:
        return "reversed"
    if any(r[0] == h and r[1] == label for r in gold.rels):
        return "other tail" + mark({t})
    if any(r[2] == t and r[1] == label for r in gold.rels):
        return "other head" + mark({h})
    if any(r[0] == h and r[2] == t for r in gold.rels):
        return "other relation"
    return "unrelated" + mark({h, t})


def cmd_errors(nlp, shared: Path) -> None:
    """Cross-validated errors on the training part, per mode and relation: false positives by
    `error_class`, false negatives by whether an end is missing (pipeline entities), the pair
    is no candidate, or its probability is below the threshold."""
    items = tr.load_items(nlp, tr.corpus(shared, "train"))
    th = tr.choose_thresholds(nlp, items, shared / "news" / "gold")
    rel = nlp.get_pipe("kg_relations")
    stems = sorted({it.stem for it in items})
    random.Random(7).shuffle(stems)
    fp: dict[tuple[str, str], Counter] = defaultdict(Counter)
    fn: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for k in range(4):
        held = set(stems[k::4])
        model = tr.fit([it for it in items if it.stem not in held], thresholds=th)
        for it in (it for it in items if it.stem in held):
            gold = Gold(it.gold)
            pred = tr.predictions(nlp, [it], model)[it.stem]
            found = {gold.entity(e["name"], e["type"])[0] for e in pred["entities"]}
            triples = {gold.triple(r) for r in pred["relations"]}
            groups = {g.key: g for pairs in it.cands.values() for c in pairs.values() for g in (c.head, c.tail)}
            places = rel.article_places(it.doc.text, groups)
            home = {i for role in ("home", "city", "province") if places.get(role)
                    for s in places[role].spans for i in gold.ids(s.text)}
            best: dict[tuple[str, str, str], float] = {}
            for label, pairs in it.cands.items():
                for c in pairs.values():
                    p = c.best(model, label)[0]
                    for h in {i for s in c.head.spans for i in gold.ids(s.text)}:
                        for t in {i for s in c.tail.spans for i in gold.ids(s.text)}:
                            best[(h, label, t)] = max(p, best.get((h, label, t), 0.0))
            for triple in triples - gold.rels:
                fp[(it.mode, triple[1])][error_class(gold, triple, home)] += 1
            for h, label, t in gold.rels - triples:
                p = best.get((h, label, t))
                why = ("end not found" if it.mode == "pipeline" and not {h, t} <= found else
                       "no candidate" if p is None else
                       "below threshold" if p < model.threshold.get(label, 0.5) else "decided otherwise")
                fn[(it.mode, label)][why] += 1
    for mode in ("oracle", "pipeline"):
        print(f"  {mode} entities (thresholds {th})")
        for label in tr.LABELS:
            for name, counts in (("FP", fp[(mode, label)]), ("FN", fn[(mode, label)])):
                cells = ", ".join(f"{k} {n}" for k, n in counts.most_common())
                print(f"    {label:<10} {name} {sum(counts.values()):>4}: {cells}")


def cmd_eval(nlp, shared: Path) -> None:
    model = nlp.get_pipe("kg_relations").model
    for part, gold in (("evaluation", shared / "news" / "gold"), ("samples", shared / "gold")):
        items = tr.load_items(nlp, tr.corpus(shared, part))
        for mode, res in tr.scores(nlp, items, model, gold).items():
            print(rows(f"{part}, {mode}", res))


def cmd_curve(nlp, shared: Path) -> None:
    for row in tr.learning_curve(nlp, shared):
        cells = "  ".join(f"{mode} F1 {row[mode]['overall']['f1']:.3f} ("
                          + ", ".join(f"{k} {v['f1']:.2f}" for k, v in row[mode]["by_relation"].items()) + ")"
                          for mode in ("oracle", "pipeline"))
        print(f"  {row['fraction']:>4.0%} of the training articles: {cells}")


def cmd_speed(nlp, shared: Path) -> None:
    from kg.extract import extract
    from kg.ingest import read_article
    articles = [read_article(p) for _, p, _ in tr.corpus(shared, "train") + tr.corpus(shared, "evaluation")]
    chars = sum(len(a.text) for a in articles)
    rel = nlp.get_pipe("kg_relations")
    docs = list(nlp.pipe((a.text for a in articles), disable=["kg_relations"]))
    start = time.perf_counter()
    for doc in docs:
        rel(doc)
    rel_time = time.perf_counter() - start
    start = time.perf_counter()
    for doc, article in zip(nlp.pipe(a.text for a in articles), articles):
        extract(doc, article)
    whole = time.perf_counter() - start
    print(f"  {chars} chars: kg_relations {chars / rel_time:,.0f} chars/s; "
          f"whole extraction (pipeline + extract) {chars / whole:,.0f} chars/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("cv", "errors", "eval", "curve", "speed"))
    ap.add_argument("--shared", type=Path, default=tr.SHARED)
    args = ap.parse_args()
    nlp = kg_nlp.build()
    commands = {"cv": cmd_cv, "errors": cmd_errors, "eval": cmd_eval, "curve": cmd_curve, "speed": cmd_speed}
    commands[args.what](nlp, args.shared)


if __name__ == "__main__":
    main()
