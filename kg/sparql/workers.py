"""Query workers: processes the server can kill.

pyoxigraph's Store.query has no timeout and no cancellation, and an ORDER BY or an aggregate
does all its work before the first row: the only sure way to stop a query is to end the
process running it. Each worker opens the store folder read-only (RocksDB allows any number
of read-only openers) and answers one request at a time over a pipe: a SPARQL query, or one of
the explorer's lookups (explore.py) when the pool was given the name index. A worker whose query runs
past the time limit, or whose client hung up, is killed and replaced; a worker that dies
(out of memory, say) is replaced too.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kg.sparql.results import Answer

log = logging.getLogger("kg.sparql")
START_TIMEOUT = 60.0  # seconds for a new worker to import and open the store


class Overloaded(Exception):
    """Every worker busy and the waiting line full (or waited a whole time limit): 503."""


class TimedOut(Exception):
    """The query ran past the time limit; its worker was killed."""


class ClientGone(Exception):
    """The client hung up before the answer; its worker was killed."""


class WorkerError(RuntimeError):
    """A worker that could not start or died during a query."""


# A job: ("sparql", query text, Accept header) or ("explore", request name, parameters)
Job = tuple[str, str, Any]


def _main(conn: Connection, store_path: str, max_rows: int, index_path: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which then ends us
    import sqlite3

    import pyoxigraph as ox

    from kg.sparql import explore, names, one_line
    from kg.sparql.results import answer
    try:
        store = ox.Store.read_only(store_path)
        explorer = explore.Explorer(store, names.connect(Path(index_path))) if index_path else None
    except (OSError, sqlite3.Error, names.NameIndexError) as err:
        conn.send(f"cannot open the store {store_path}: {one_line(err)}")
        return
    conn.send("ready")
    while True:
        try:
            kind, what, arg = conn.recv()
        except EOFError:  # the server closed the pipe: it is shutting down
            return
        if kind == "explore" and explorer is not None:
            conn.send(explore.answer(explorer, what, arg))
        else:
            conn.send(answer(store, what, arg, max_rows))


class Worker:
    def __init__(self, store_path: str, max_rows: int, index_path: str | None = None) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs an event loop and threads
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_main, args=(child, store_path, max_rows, index_path), daemon=True,
                                name="kg-sparql-worker")
        self.proc.start()
        child.close()

    def wait_ready(self) -> Worker:
        """Block until the worker has opened the store (call it off the event loop)."""
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise WorkerError(f"a query worker did not start within {START_TIMEOUT:g} s")
        try:
            message = self.conn.recv()
        except EOFError:
            message = "a query worker exited on start"
        if message != "ready":
            self.kill()
            raise WorkerError(message)
        return self

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


class Pool:
    """`size` workers = queries evaluated at once; up to `max_queue` more requests wait for one
    (each at most `timeout` seconds); anything beyond is refused at once (Overloaded). With
    `index_path` (the name index), the workers also answer the explorer's requests."""

    def __init__(self, store_path: str, size: int, max_rows: int, timeout: float, max_queue: int,
                 index_path: str | None = None) -> None:
        self.store_path, self.size, self.max_rows, self.index_path = store_path, size, max_rows, index_path
        self.timeout, self.max_queue = timeout, max_queue
        self.waiting = 0
        self.closing = False
        self.workers: set[Worker] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.idle: asyncio.Queue[Worker] | None = None

    def _spawn(self) -> Worker:
        if self.closing:
            raise WorkerError("the pool is shutting down")
        worker = Worker(self.store_path, self.max_rows, self.index_path)
        self.workers.add(worker)
        try:
            return worker.wait_ready()
        except WorkerError:
            self.workers.discard(worker)
            raise

    async def start(self) -> None:
        self.idle = asyncio.Queue()
        for worker in await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size))):
            self.idle.put_nowait(worker)

    async def stop(self) -> None:
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in list(self.workers):
            await asyncio.to_thread(worker.kill)
        self.workers.clear()

    async def _respawn(self, old: Worker) -> None:
        self.workers.discard(old)
        await asyncio.to_thread(old.kill)
        try:
            new = await asyncio.to_thread(self._spawn)
        except WorkerError as err:
            if not self.closing:
                log.error("query worker not replaced: %s", err)
            return
        assert self.idle is not None
        self.idle.put_nowait(new)

    def _replace(self, worker: Worker) -> None:
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _acquire(self, gone: asyncio.Future[Any]) -> Worker:
        assert self.idle is not None
        if self.idle.empty() and self.waiting >= self.max_queue:
            raise Overloaded(f"{self.size} queries running and {self.waiting} waiting")
        self.waiting += 1
        get = asyncio.ensure_future(self.idle.get())
        try:
            done, _ = await asyncio.wait({get, gone}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # shutdown: a worker this request got goes back
            if get.done() and not get.cancelled():
                self.idle.put_nowait(get.result())
            get.cancel()
            raise
        finally:
            self.waiting -= 1
        if get in done:
            return get.result()
        get.cancel()  # asyncio.Queue keeps the worker for the next getter
        if gone in done:
            raise ClientGone()
        raise Overloaded(f"no query worker free within {self.timeout:g} s")

    async def call(self, job: Job, gone: asyncio.Future[Any]) -> Answer:
        """The answer to `job` (see Job); `gone` completes when the client hangs up."""
        worker = await self._acquire(gone)
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not reply.done():
                reply.set_result(None)
        fd = worker.conn.fileno()
        healthy = False
        try:
            try:
                worker.conn.send(job)
            except OSError:  # it died while idle
                raise WorkerError("the query worker died; try again") from None
            loop.add_reader(fd, readable)
            try:
                done, _ = await asyncio.wait({reply, gone}, timeout=self.timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                loop.remove_reader(fd)
            if reply not in done:
                raise ClientGone() if gone in done else TimedOut(f"over the {self.timeout:g} s time limit")
            try:
                answer = worker.conn.recv()
            except (EOFError, OSError):
                raise WorkerError("the query worker died (out of memory?)") from None
            healthy = True
            return answer
        finally:
            if healthy:
                assert self.idle is not None
                self.idle.put_nowait(worker)
            else:
                self._replace(worker)
