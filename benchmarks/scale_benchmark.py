"""How the build scales: wall time, chars/s, peak memory and time per stage against corpus size.

    python benchmarks/scale_benchmark.py merge --sizes 10000 100000     # merge + exports of N articles' records
    python benchmarks/scale_benchmark.py merge --sizes 1000000 --keep-records /work/scale   # records kept, reused
    python benchmarks/scale_benchmark.py build --sizes 1000 10000       # full builds of N synthetic articles
    python benchmarks/scale_benchmark.py plot                           # docs/scaling.png from the results

Inputs come from benchmarks/synth.py (records are generated straight away, without NLP, and not
timed). Each measurement runs in a fresh process, so its peak RSS is its own; results are appended
to benchmarks/results/scale.jsonl (one JSON object a run) and the plot reads them all.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results" / "scale.jsonl"

from build_benchmark import in_process  # noqa: E402  (each run in a fresh process: its own peak RSS)


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children: the machine is shared, so wall
    time depends on the neighbours' load and CPU time does not."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _merge_run(records: str, out: str, jobs: int, result: dict) -> None:
    from kg.stream.build import export, local_map, process_map
    t0 = time.perf_counter()
    report = export(Path(records), Path(out), work=Path(out).parent, map=process_map(jobs) if jobs > 1 else local_map)
    result.update(wall_s=time.perf_counter() - t0, cpu_s=_cpu_s(), stages=report.seconds, entities=report.entities,
                  relations=report.relations, triples=report.triples, peak_mb=_peak_mb())


def _build_run(corpus: str, out: str, jobs: int, result: dict) -> None:
    from kg.stream.build import build
    t0 = time.perf_counter()
    report = build(Path(corpus), Path(out), jobs=jobs)
    result.update(wall_s=time.perf_counter() - t0, cpu_s=_cpu_s(), stages=report.seconds, entities=report.entities,
                  relations=report.relations, triples=report.triples, failures=len(report.failures),
                  peak_mb=_peak_mb(), workers_peak_mb=_peak_mb(resource.RUSAGE_CHILDREN))


def _save(row: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _print(row: dict) -> None:
    stages = ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items())
    rate = f"{row['chars'] / row['wall_s']:,.0f} chars/s, " if row.get("chars") else ""
    workers = f" (workers {row['workers_peak_mb']:,.0f} MB)" if row.get("workers_peak_mb") else ""
    print(f"{row['mode']:5} {row['articles']:>9,} articles: {row['wall_s']:8.1f} s wall, "
          f"{row.get('cpu_s', 0):8.1f} s CPU, {rate}"
          f"peak RSS {row['peak_mb']:,.0f} MB{workers}; {row['entities']:,} entities, {row['relations']:,} "
          f"relations, {row['triples']:,} triples; stages (s): {stages}", flush=True)


def merge(sizes: list[int], scratch: Path, jobs: int, keep: Path | None = None) -> None:
    """`keep`: a folder where each size's records are kept (records-N, with a `.complete` marker
    written last) and reused by later runs: at 10^6 articles making them takes most of an hour."""
    import synth

    from kg.stream.records import write_records
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            records, out = (keep / f"records-{n}" if keep else Path(tmp) / "records"), Path(tmp) / "out"
            made = None  # kept records reused: not made in this run
            if not (records / ".complete").exists():
                t0 = time.perf_counter()
                write_records(synth.extractions(n), records)
                (records / ".complete").write_text(f"{n} articles, seed 7\n")
                made = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in records.glob("*.jsonl"))
            row = in_process(_merge_run, str(records), str(out), jobs)
            row.update(mode="merge", articles=n, jobs=jobs, records_mb=size / 1e6, synth_s=made,
                       outputs_mb={p.name: round(p.stat().st_size / 1e6, 1) for p in out.iterdir() if p.is_file()})
        _print(row)
        _save(row)


def build(sizes: list[int], scratch: Path, jobs: int) -> None:
    import synth
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            corpus, out = Path(tmp) / "corpus", Path(tmp) / "out"
            corpus.mkdir()
            chars = 0
            for name, text in synth.articles(n):
                (corpus / name).write_text(text, encoding="utf-8")
                chars += len(text)
            row = in_process(_build_run, str(corpus), str(out), jobs)
            row.update(mode="build", articles=n, chars=chars, jobs=jobs)
            _print(row)
            _save(row)
            # incremental: one article changes, the rest is as it was
            one = sorted(corpus.iterdir())[n // 2]
            one.write_text(one.read_text(encoding="utf-8") + "\n　　区商务局局长林海峰出席会议。\n", encoding="utf-8")
            again = in_process(_build_run, str(corpus), str(out), jobs)
            again.update(mode="rebuild", articles=n, jobs=jobs, of_full=again["wall_s"] / row["wall_s"])
            _print(again)
            print(f"rebuild after one changed article: {again['wall_s']:.1f} s = {100 * again['of_full']:.1f} % "
                  f"of the full build", flush=True)
            _save(again)


def plot(path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, marker in (("build", "o"), ("merge", "s"), ("rebuild", "^")):
        last = {r["articles"]: r for r in rows if r["mode"] == mode}  # the latest run of each size
        xs = sorted(last)
        if not xs:
            continue
        label = {"build": "full build", "merge": "merge + exports (records)",
                 "rebuild": "rebuild after 1 changed article"}[mode]
        line, = ax_t.plot(xs, [last[x]["wall_s"] for x in xs], marker=marker, label=f"{label}, wall")
        if all("cpu_s" in last[x] for x in xs):  # the machine is shared: CPU time is the steadier figure
            ax_t.plot(xs, [last[x]["cpu_s"] for x in xs], marker=marker, linestyle="--", color=line.get_color(),
                      label=f"{label}, CPU")
        ax_m.plot(xs, [max(last[x]["peak_mb"], last[x].get("workers_peak_mb", 0)) for x in xs], marker=marker,
                  label=label)
    for ax, ylabel in ((ax_t, "time (s)"), (ax_m, "peak RSS of one process (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("articles")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    ax_m.axhline(1536, color="red", linestyle="--", linewidth=1)
    ax_m.text(ax_m.get_xlim()[0], 1536 * 1.05, " 1.5 GB", color="red", fontsize=8)
    fig.suptitle(f"zhkg scaling ({platform.machine()}, {mp.cpu_count()} cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot -> {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["merge", "build", "plot"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--jobs", type=int, default=2, help="extraction processes for `build` (default: 2)")
    ap.add_argument("--merge-jobs", type=int, default=1, help="processes for `merge` (default: 1)")
    ap.add_argument("--keep-records", type=Path, help="`merge`: keep each size's records here and reuse them")
    ap.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()), help="where inputs and outputs go")
    ap.add_argument("--png", type=Path, default=HERE.parent / "docs" / "scaling.png")
    args = ap.parse_args()
    if args.what == "merge":
        merge(args.sizes, args.scratch, args.merge_jobs, args.keep_records)
    elif args.what == "build":
        build(args.sizes, args.scratch, args.jobs)
    else:
        plot(args.png)


if __name__ == "__main__":
    main()
