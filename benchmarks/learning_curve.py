"""Does more annotation pay? Evaluation-part F1 of the whole pipeline when the NER is fine-tuned
on 25 / 50 / 100 % of the training articles (stage 2 of `kg train`, from the same stage-1 base).

    python benchmarks/learning_curve.py [--fractions 0.25 0.5 1] [--base build/ner-base]
    python benchmarks/learning_curve.py --cv 4      # k-fold by file inside the training part

`--cv K` never touches the evaluation part: it fine-tunes K models, each without one fold of the
training articles, and scores the pooled held-out folds (model selection, rule-vs-model choices).
Relation F1 is printed from the same runs; a trained relation component plugs in through
`RELATION_TRAINER` (called with the training articles and the work folder, it returns the
settings `nlp.build` needs, or None while there is no relation model).
"""
from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kg import evaluate, nlp as kg_nlp  # noqa: E402
from kg.training import gold as gold_data  # noqa: E402
from kg.training import ner_finetune as ft  # noqa: E402

SHARED = REPO.parent / "shared"
SPLIT = REPO / "kg" / "training" / "news_split.json"
RELATION_TRAINER: Callable[[list[Path], Path], dict | None] | None = None


def run(train: list[Path], test: list[Path], pools: Callable[[], ft.Pools], base: Path, work: Path, mix: ft.Mix,
        counts: evaluate.Counts, reuse: bool) -> evaluate.Counts:
    """Fine-tune on `train` (unless `reuse` and `work` holds a model already), score `test`."""
    model = work / "ner"
    if not (reuse and (model / "meta.json").exists()):
        ft.finetune(base, ft.gold_examples(SHARED, train), pools(), model, mix, log=print)
    extra = RELATION_TRAINER(train, work) if RELATION_TRAINER else None
    nlp = kg_nlp.build(ner_model=model, **(extra or {}))
    return ft.score_articles(nlp, test, SHARED / "news" / "gold", counts)


def line(name: str, res: dict) -> str:
    e, r = res["entities"], res["relations"]
    types = "  ".join(f"{t} {s['f1']:.3f}" for t, s in e["by_type"].items())
    return (f"{name}: entity P/R/F1 {e['overall']['p']:.3f}/{e['overall']['r']:.3f}/{e['overall']['f1']:.3f}"
            f" ({types}); relation F1 {r['overall']['f1']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--cv", type=int, default=0, help="k-fold cross-validation inside the training part")
    ap.add_argument("--base", type=Path, default=REPO / "build" / "ner-base", help="stage-1 model")
    ap.add_argument("--work", type=Path, default=REPO / "build" / "curve")
    ap.add_argument("--epochs", type=int, default=ft.Mix.epochs)
    ap.add_argument("--max-minutes", type=float, default=ft.Mix.max_minutes, help="per training")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the models of an earlier run (score them again after a change to the rules)")
    ap.add_argument("--held-out", action="store_true",
                    help="also score each model on the training articles it did not see")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    mix = replace(ft.Mix(), epochs=args.epochs, max_minutes=args.max_minutes)
    train = gold_data.news_split(SPLIT, SHARED / "news", "train")
    pools = functools.cache(lambda: ft.Pools(kg_nlp.build(), SHARED / "datasets",
                                             args.work.parent / "silver" / "lac.jsonl"))
    results = {}
    t0 = time.monotonic()
    if args.cv:
        files = sorted(train)
        random.Random(0).shuffle(files)
        counts = evaluate.Counts()
        for k in range(args.cv):
            held = files[k::args.cv]
            run([f for f in files if f not in held], held, pools, args.base, args.work / f"cv{k}", mix, counts, args.reuse)
            print(line(f"after fold {k + 1}/{args.cv}", evaluate.summary(counts)), flush=True)
        results[f"cv{args.cv}"] = evaluate.summary(counts)
    else:
        evaluation = gold_data.news_split(SPLIT, SHARED / "news", "evaluation")
        for frac in args.fractions:
            part = sorted(train)
            random.Random(0).shuffle(part)
            part = part[:max(1, round(frac * len(part)))]
            counts = run(part, evaluation, pools, args.base, args.work / f"frac{frac}", mix, evaluate.Counts(),
                         args.reuse)
            results[f"{frac:.0%} ({len(part)} articles)"] = evaluate.summary(counts)
            print(line(f"{frac:.0%} of training articles", results[f"{frac:.0%} ({len(part)} articles)"]),
                  flush=True)
            rest = [f for f in train if f not in part]
            if rest and args.held_out:  # the training articles this model did not see: a check inside train
                nlp = kg_nlp.build(ner_model=args.work / f"frac{frac}" / "ner")
                held = evaluate.summary(ft.score_articles(nlp, rest, SHARED / "news" / "gold"))
                results[f"{frac:.0%}, held-out training articles ({len(rest)})"] = held
                print(line(f"  on the {len(rest)} unseen training articles", held), flush=True)
    print(f"total {(time.monotonic() - t0) / 60:.1f} min")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for name, res in results.items():
            print(line(name, res))


if __name__ == "__main__":
    main()
