"""Speed and memory of `kg build` on ~1 MB of news text, beside jieba.posseg on the same text,
and the speed-up of `--jobs N` extraction processes over one.

    python benchmarks/build_benchmark.py [--datasets ../shared/datasets] [--chars 1000000] [--jobs 2] [--repeat 3]

The text is CLUENER2020 train sentences, packed into articles of ~10,000 characters.
Each system runs in its own fresh process so peak memory (max RSS) is its own: kg with one
process, jieba.posseg, then kg with `--jobs` processes (skipped for --jobs 1). The machine may be
shared, so CPU seconds are reported beside wall time: extraction's CPU seconds count this
process and its worker processes, start-up included. Results are appended to
benchmarks/results/build.jsonl (one JSON object a run).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "build.jsonl"


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


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (extraction's worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class ExtractionClock:
    """The CPU seconds of extraction, through api.build's `progress` hook: from the first
    article asked for to the last one received (the worker processes have ended by then)."""

    def __init__(self):
        self.cpu_s = 0.0

    def __call__(self, extractions: Iterable) -> Iterator:
        start = cpu_s()
        yield from extractions
        self.cpu_s = cpu_s() - start


def run_kg(articles: list[str], jobs: int, out: dict) -> None:
    from kg import api

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "corpus", Path(tmp) / "out"
        src.mkdir()
        for i, text in enumerate(articles):
            (src / f"{i:04d}.txt").write_text(text, encoding="utf-8")
        clock = ExtractionClock()
        report = api.build(src, dst, jobs=jobs, cache=False, progress=clock)
    n = sum(map(len, articles))
    t = report.seconds
    exports = sum(s for stage, s in t.items() if stage not in ("load", "extract"))
    out.update(jobs=jobs, load_s=t["load"], extract_s=t["extract"], extract_cpu_s=clock.cpu_s,
               graph_and_exports_s=exports, extract_chars_per_s=n / t["extract"],
               extract_chars_per_cpu_s=n / clock.cpu_s, build_chars_per_s=n / (t["extract"] + exports),
               stages=dict(t), entities=report.entities, relations=report.relations, triples=report.triples,
               failures=len(report.failures), peak_mb=peak_mb())


def run_posseg(articles: list[str], out: dict) -> None:
    import jieba
    import jieba.posseg

    jieba.initialize()
    t0, c0 = time.perf_counter(), cpu_s()
    for text in articles:
        list(jieba.posseg.cut(text))
    t1, c1 = time.perf_counter(), cpu_s()
    n = sum(map(len, articles))
    out.update(chars_per_s=n / (t1 - t0), seconds=t1 - t0, cpu_s=c1 - c0, chars_per_cpu_s=n / (c1 - c0),
               peak_mb=peak_mb())


def in_process(target, *args) -> dict:
    with mp.Manager() as manager:
        out = manager.dict()
        p = mp.get_context("spawn").Process(target=target, args=(*args, out))
        p.start()
        p.join()
        if p.exitcode:
            raise SystemExit(f"{target.__name__} failed with exit code {p.exitcode}")
        return dict(out)


def kg_line(kg: dict) -> str:
    return (f"kg build (jobs={kg['jobs']}): extraction {kg['extract_chars_per_s']:,.0f} chars/s "
            f"({kg['extract_s']:.1f} s wall, {kg['extract_cpu_s']:.1f} CPU s: "
            f"{kg['extract_chars_per_cpu_s']:,.0f} chars/CPU s), whole build {kg['build_chars_per_s']:,.0f} chars/s, "
            f"graph+exports {kg['graph_and_exports_s']:.1f} s, pipeline load {kg['load_s']:.1f} s, "
            f"peak RSS {kg['peak_mb']:,.0f} MB; {kg['entities']} entities, {kg['relations']} relations, "
            f"{kg['triples']} triples\n  stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in kg["stages"].items()))


def ner_dims() -> dict:
    """The shipped NER model's size (its speed depends on it)."""
    from thinc.api import Config

    from kg.pipeline.ner import DEFAULT_MODEL
    cfg = Config().from_disk(DEFAULT_MODEL / "config.cfg", interpolate=False)
    encode = cfg["components"]["tok2vec"]["model"]["encode"]
    return {"width": encode["width"], "depth": encode["depth"],
            "hidden": cfg["components"]["ner"]["model"]["hidden_width"]}


def commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def measure(articles: list[str], jobs: int, tag: dict) -> dict:
    """One round: kg with one process, jieba.posseg, kg with `jobs` processes (each its own process);
    `tag` (the run and the round) goes into the row."""
    n = sum(map(len, articles))
    one = in_process(run_kg, articles, 1)
    print(kg_line(one))
    ref = in_process(run_posseg, articles)
    print(f"jieba.posseg: {ref['chars_per_s']:,.0f} chars/s ({ref['seconds']:.1f} s wall, {ref['cpu_s']:.1f} CPU s: "
          f"{ref['chars_per_cpu_s']:,.0f} chars/CPU s), peak RSS {ref['peak_mb']:,.0f} MB")
    row = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit(), "ner": ner_dims(),
           "chars": n, "articles": len(articles), "cores": mp.cpu_count(), "machine": platform.machine(), "kg": one,
           **tag, "posseg": ref, "ratio": one["extract_chars_per_s"] / ref["chars_per_s"],
           "ratio_cpu": one["extract_chars_per_cpu_s"] / ref["chars_per_cpu_s"]}
    print(f"ratio kg extraction / jieba.posseg, one process each: {row['ratio']:.2f} by wall time, "
          f"{row['ratio_cpu']:.2f} by CPU time")
    if jobs > 1:
        many = in_process(run_kg, articles, jobs)
        print(kg_line(many))
        row.update(kg_jobs=many, speedup=one["extract_s"] / many["extract_s"],
                   cpu_overhead=many["extract_cpu_s"] / one["extract_cpu_s"])
        print(f"--jobs {jobs} extraction speed-up over one process: {row['speedup']:.2f}x by wall time; "
              f"CPU seconds {row['cpu_overhead']:.2f}x those of one process (worker start-up); "
              f"same output: {(many['entities'], many['relations']) == (one['entities'], one['relations'])}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=HERE.parents[1] / "shared" / "datasets")
    ap.add_argument("--chars", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2, help="extraction processes to compare with one (default: 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds (a shared VM's speed drifts by 10-20 %% between runs: report the median)")
    args = ap.parse_args()
    articles = corpus(args.datasets, args.chars)
    print(f"text: {sum(map(len, articles)):,} chars in {len(articles)} articles")
    if args.repeat < 1:
        ap.error("--repeat must be 1 or more")
    run = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = [measure(articles, args.jobs, {"run": run, "round": i + 1, "rounds": args.repeat})
            for i in range(args.repeat)]
    print(f"results appended to {RESULTS}")
    if len(rows) > 1:
        for key in ("ratio", "speedup"):
            values = [r[key] for r in rows if key in r]
            if values:
                print(f"{key} over {len(values)} rounds: median {statistics.median(values):.2f} "
                      f"(min {min(values):.2f}, max {max(values):.2f})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
