"""The bounded-memory build: per-article records on disk -> partitioned merge -> streamed exports.

records.py  Extraction -> compact record (one JSON line), record partitions on disk
extract.py  corpus files -> record partitions (in processes; cache-aware)
merge.py    records -> entity table -> facts partitioned by entity -> merged nodes and edges
write.py    merged nodes and edges -> Turtle (pyoxigraph), CSV, GraphML, capped HTML
build.py    the whole build, stage by stage, with timings
"""
