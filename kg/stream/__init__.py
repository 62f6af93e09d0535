"""The build behind `kg build` and kg.api.build, in bounded memory: per-article records on disk ->
partitioned merge -> streamed exports.

records.py  Extraction -> compact record (one JSON line), record partitions on disk
extract.py  corpus files -> record partitions, one task per partition (cache-aware, reusable)
merge.py    records -> entity table -> facts shuffled to merge partitions -> merged nodes and edges
write.py    merged nodes and edges -> Turtle (pyoxigraph), CSV, GraphML, capped HTML, in pieces
build.py    the whole build as stages of tasks, with timings and peak memory per stage
cluster.py  the same tasks on a Dask cluster
"""
