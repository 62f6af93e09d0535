"""A build's output files published as one set.

Exporters write into a staging folder inside OUT. Once every one has succeeded, each file is
moved into OUT (os.replace: atomic per file) and manifest.json is written last, atomically,
with the SHA-256 and size of every file. A build killed while moving leaves files that
disagree with the manifest, and readers (`kg validate`, `kg query`, `kg serve`) say so rather
than read a new graph.ttl beside an old graph.html. The next build removes what a killed one
left behind: staging folders and temporary files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"
_STAGING = ".staging-"


class OutputError(ValueError):
    """An output folder that cannot be used, or a published set that does not match its manifest."""


def ready(out: Path) -> Path:
    """Create `out` if needed and check that files can be written there: a bad --out fails
    before the (long) extraction, not after it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=".probe-", dir=out)).rmdir()
    except OSError as err:
        raise OutputError(f"{out}: cannot write there ({err.strerror or err})") from None
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(out: Path) -> list[Path]:
    """Remove staging folders of builds that are no longer running, and the temporary files
    (`.graph.ttl.*.tmp`) an interrupted write leaves."""
    gone: list[Path] = []
    for p in Path(out).glob(".*"):
        if p.is_dir() and p.name.startswith(_STAGING):
            pid = p.name[len(_STAGING):].split("-", 1)[0]
            if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
                continue  # another build into the same folder, still running
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
        elif p.is_file() and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh staging folder inside `out` (same file system: moves are renames), removed
    afterwards whatever happens."""
    out = ready(out)
    clean_leftovers(out)
    stage = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=out))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def publish(stage: Path, out: Path) -> list[Path]:
    """Move every file of `stage` into `out`, then write the manifest; returns the files."""
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    entries = {p.relative_to(stage).as_posix(): {"sha256": _digest(p), "bytes": p.stat().st_size} for p in files}
    for p in files:
        dest = out / p.relative_to(stage)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"files": entries}, f, ensure_ascii=False, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out / MANIFEST)
    return [out / name for name in entries]


def verify(path: Path) -> None:
    """When `path` lies in a build folder (one with a manifest), every file the manifest lists
    must be the one published: OutputError names the first that is not."""
    manifest = Path(path).parent / MANIFEST
    if not manifest.is_file():
        return
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        expected = {name: (e["sha256"], e["bytes"]) for name, e in entries.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise OutputError(f"{manifest}: unreadable; build again") from None
    for name, (sha, size) in expected.items():
        file = manifest.parent / name
        if not file.is_file() or file.stat().st_size != size or _digest(file) != sha:
            raise OutputError(f"{file}: not the file {manifest} lists: a build was interrupted while "
                              "publishing, so the folder mixes two builds; build again")
