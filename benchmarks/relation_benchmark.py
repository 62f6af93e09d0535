"""Relation extraction on ../shared/news: P/R/F1 per relation with oracle entities (the gold's
names projected onto the text: the relation component alone) and with the pipeline's own
entities (end to end), plus speed.

    python benchmarks/relation_benchmark.py cv        # training part, 4-fold CV by file (+/- DuIE)
    python benchmarks/relation_benchmark.py eval      # the shipped model on the evaluation part and the samples
    python benchmarks/relation_benchmark.py curve     # evaluation-part F1 trained on 25/50/100 % of the training part
    python benchmarks/relation_benchmark.py speed     # chars/s of kg_relations and of the whole extraction

`cv` is where choices are made; `eval` and `curve` only report (the evaluation part is never tuned on).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from kg import nlp as kg_nlp
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
    ap.add_argument("what", choices=("cv", "eval", "curve", "speed"))
    ap.add_argument("--shared", type=Path, default=tr.SHARED)
    args = ap.parse_args()
    nlp = kg_nlp.build()
    {"cv": cmd_cv, "eval": cmd_eval, "curve": cmd_curve, "speed": cmd_speed}[args.what](nlp, args.shared)


if __name__ == "__main__":
    main()
