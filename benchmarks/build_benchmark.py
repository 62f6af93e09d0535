"""Speed and memory of `kg build` on ~1 MB of news text, beside jieba.posseg on the same text.

    python benchmarks/build_benchmark.py [--datasets ../shared/datasets] [--chars 1000000] [--jobs 1]

The text is CLUENER2020 train sentences, packed into articles of ~10,000 characters.
Each system runs in its own fresh process so peak memory (max RSS) is its own.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path


def corpus(datasets: Path, chars: int) -> list[str]:
    sents, total = [], 0
    for line in (datasets / "cluener2020" / "train.json").read_text("utf-8").splitlines():
        text = json.loads(line)["text"]
        sents.append(text)
        total += len(text)
        if total >= chars:
            break
    articles, cur = [], ""
    for s in sents:
        cur += s + ("\n" if len(cur) % 400 < len(s) else "")
        if len(cur) >= 10_000:
            articles.append(cur)
            cur = ""
    return articles + ([cur] if cur else [])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_kg(articles: list[str], jobs: int, out: dict) -> None:
    from kg import api

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "corpus", Path(tmp) / "out"
        src.mkdir()
        for i, text in enumerate(articles):
            (src / f"{i:04d}.txt").write_text(text, encoding="utf-8")
        report = api.build(src, dst, jobs=jobs, cache=False)
    n = sum(map(len, articles))
    t = report.seconds
    exports = sum(s for stage, s in t.items() if stage not in ("load", "extract"))
    out.update(load_s=t["load"], extract_s=t["extract"], graph_and_exports_s=exports,
               extract_chars_per_s=n / t["extract"], build_chars_per_s=n / (t["extract"] + exports),
               stages=dict(t), entities=report.entities, relations=report.relations, triples=report.triples,
               peak_mb=peak_mb())


def run_posseg(articles: list[str], out: dict) -> None:
    import jieba
    import jieba.posseg

    jieba.initialize()
    t0 = time.perf_counter()
    for text in articles:
        list(jieba.posseg.cut(text))
    t1 = time.perf_counter()
    out.update(chars_per_s=sum(map(len, articles)) / (t1 - t0), seconds=t1 - t0, peak_mb=peak_mb())


def in_process(target, *args) -> dict:
    with mp.Manager() as manager:
        out = manager.dict()
        p = mp.get_context("spawn").Process(target=target, args=(*args, out))
        p.start()
        p.join()
        if p.exitcode:
            raise SystemExit(f"{target.__name__} failed with exit code {p.exitcode}")
        return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    ap.add_argument("--chars", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    articles = corpus(args.datasets, args.chars)
    n = sum(map(len, articles))
    print(f"text: {n:,} chars in {len(articles)} articles")
    kg = in_process(run_kg, articles, args.jobs)
    ref = in_process(run_posseg, articles)
    print(f"kg build (jobs={args.jobs}): extraction {kg['extract_chars_per_s']:,.0f} chars/s "
          f"({kg['extract_s']:.1f} s), whole build {kg['build_chars_per_s']:,.0f} chars/s, "
          f"graph+exports {kg['graph_and_exports_s']:.1f} s, pipeline load {kg['load_s']:.1f} s, "
          f"peak RSS {kg['peak_mb']:,.0f} MB; {kg['entities']} entities, {kg['relations']} relations, "
          f"{kg['triples']} triples")
    print("  stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in kg["stages"].items()))
    print(f"jieba.posseg: {ref['chars_per_s']:,.0f} chars/s ({ref['seconds']:.1f} s), peak RSS {ref['peak_mb']:,.0f} MB")
    print(f"ratio kg extraction / jieba.posseg: {kg['extract_chars_per_s'] / ref['chars_per_s']:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
