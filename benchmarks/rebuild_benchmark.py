"""Incremental builds: time of a full `kg build` vs a rebuild after one article changed.

    python benchmarks/rebuild_benchmark.py [--chars 300000]

Articles are made from CLUENER2020 train sentences (as in build_benchmark.py).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from build_benchmark import corpus

from kg import api


def timed_build(src: Path, out: Path) -> float:
    t0 = time.perf_counter()
    report = api.build(src, out)
    assert not report.failures, report.failures
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    ap.add_argument("--chars", type=int, default=300_000)
    args = ap.parse_args()
    articles = corpus(args.datasets, args.chars)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "corpus", Path(tmp) / "out"
        src.mkdir()
        for i, text in enumerate(articles):
            (src / f"{i:04d}.txt").write_text(text, encoding="utf-8")
        full = timed_build(src, out)
        one = src / "0000.txt"
        one.write_text(one.read_text("utf-8") + "\n区商务局局长林海峰出席。\n", encoding="utf-8")
        rebuild = timed_build(src, out)
    print(f"{len(articles)} articles, {sum(map(len, articles)):,} chars: full build {full:.1f} s, "
          f"rebuild after one changed article {rebuild:.1f} s ({full / rebuild:.1f}x faster)")


if __name__ == "__main__":
    main()
