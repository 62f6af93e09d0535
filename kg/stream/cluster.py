"""The build on a Dask cluster (dask.distributed): extraction and merge tasks run on its workers.

    build(corpus, out, scheduler="tcp://10.0.0.5:8786")   # an existing cluster
    build(corpus, out, scheduler="local", jobs=2)         # a LocalCluster of 2 worker processes

The tasks are those of the single-process build (kg.stream.extract.run_task, kg.stream.build's
firsts/spill/reduce tasks), so the outputs are the same bytes. Tasks exchange data through files:
the workers must see the corpus and the output folder at the same paths as the client (a shared
file system: NFS or Lustre under dask-jobqueue, a ReadWriteMany volume on Kubernetes), and have
the same zhkg installed. Only small things travel through the scheduler: task descriptions,
the entity table (broadcast once) and per-task counts.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from kg.stream.merge import EntityTable


class ClusterError(RuntimeError):
    """The scheduler cannot be reached or dask.distributed is not installed."""


@contextmanager
def connect(scheduler: str, workers: int = 2) -> Iterator:
    """A dask.distributed Client: to `scheduler` (an address), or to a new LocalCluster of
    `workers` single-threaded processes for "local" (spaCy pipelines are not shared by threads)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--scheduler needs dask.distributed: pip install 'zhkg[dask]'") from None
    if scheduler == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    with client:
        yield client


def mapper(client) -> Callable[..., list]:
    """kg.stream.build's `map` on the cluster: one task per item, results in item order. The
    entity table is sent to every worker once, not with every task."""
    def run(fn: Callable, items: Iterable[tuple], **shared) -> list:
        items = list(items)
        if not items:
            return []
        shared = {k: client.scatter(v, broadcast=True, hash=False) if isinstance(v, EntityTable) else v
                  for k, v in shared.items()}
        futures = client.map(fn, *zip(*items), pure=False, **shared)
        return client.gather(futures)
    return run
