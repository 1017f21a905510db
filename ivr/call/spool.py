"""Reports Twilio sent while Redis was away, kept on local disk and replayed once it is back.

A call that ends during an outage tells the app so only once: the <Dial> action, the queue's
hang-up, the status callback. Lost, they would leave an agent "on call" and a caller
"waiting" for ever. So when Redis fails inside one of those report webhooks the request is
kept here, and the ticker replays it through the same view once Redis answers again. Every
engine step is idempotent, so a report that also arrives some other way counts once.

Kept on disk, so that a worker that dies during the outage (SIGKILL, out of memory, a deploy)
loses none of them:
- each worker appends to a file of its own in `server.spool_dir`, one JSON line per report,
  and fsyncs it before the webhook answers;
- it holds an flock on that file for as long as it lives. The kernel drops the lock when the
  process dies, however it dies, so a file nobody holds is a dead worker's (or one a replay
  gave back) and any worker's ticker may take it. Taking the lock is the claim: two workers
  never replay one file at once;
- a file is removed once every report in it has been applied; a replay cut short by Redis
  keeps the reports not yet applied. A worker that dies mid-replay leaves the file behind and
  its reports are applied again, which is harmless (tests/call/test_spool.py checks it).
If the disk fails (full, unwritable, the file at `MAX_FILE_BYTES`) the report is kept in this
worker's memory instead, bounded, and the failure is logged as critical: the webhook still
answers with the fallback, as it would anyway.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
import threading
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import redis
from flask import Flask, request
from werkzeug.datastructures import MultiDict

from ivr import services
from ivr.settings import Settings
from routing.exceptions import StoreUnavailable
from routing.settings import PROJECT_ROOT

log = logging.getLogger("silverline.spool")

EXTENSION = "silverline.spool"
# Webhooks that report what happened to a call; their answers do not steer the call.
REPORTS = frozenset(
    {
        "voice.status",
        "voice.dial_result",
        "voice.queue_result",
        "voice.callback_status",
        "connect.agent_status",
        "connect.room_status",
    }
)
STORE_ERRORS = (StoreUnavailable, redis.RedisError)
SUFFIX = ".reports"  # a spool file, whole and visible
# A spool file being made: locked first, then renamed to SUFFIX. A worker that dies in between
# leaves an empty one behind, harmless, so nobody sweeps them (a sweep could take a file in
# the instant before its maker locks it).
PARTIAL = ".new"
# A report is under 2 kB, so about 30,000 per worker and outage (the file is sealed and
# replayed at the first beat after Redis is back); past it, memory as on a failing disk.
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Report:
    """One report webhook as it arrived: which view, its query string and form fields."""

    endpoint: str
    path: str
    query: str
    form: tuple[tuple[str, str], ...]

    def to_line(self) -> bytes:
        """The report as one line of JSON, newline included."""
        raw = {"endpoint": self.endpoint, "path": self.path, "query": self.query, "form": self.form}
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Report:
        """Read a line `to_line` wrote; ValueError, KeyError or TypeError if it is not one."""
        raw = json.loads(line)
        form = tuple((str(k), str(v)) for k, v in raw["form"])
        return cls(str(raw["endpoint"]), str(raw["path"]), str(raw["query"]), form)


@dataclass(frozen=True)
class Held:
    """A spool file this process has open and flocked: no other process will touch it."""

    path: Path
    fd: int

    def release(self) -> None:
        """Give the file back as it is (the lock goes with the descriptor)."""
        os.close(self.fd)

    def remove(self) -> None:
        """Delete the file, then let go: a process waiting on the lock finds it gone."""
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


def spool_dir(settings: Settings) -> Path:
    """`server.spool_dir`, relative to the project directory unless absolute."""
    return PROJECT_ROOT / settings.server.spool_dir


def create(directory: Path) -> Held:
    """A new, empty spool file, locked before it can be seen under its final name."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f"{os.getpid()}-{secrets.token_hex(4)}"
    partial, final = directory / (stem + PARTIAL), directory / (stem + SUFFIX)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(partial, final)
        _fsync_dir(directory)  # the file's name survives a power cut, not only its bytes
    except OSError:
        partial.unlink(missing_ok=True)
        os.close(fd)
        raise
    return Held(final, fd)


def claim(path: Path) -> Held | None:
    """Lock `path` if no live process holds it and it is still there; else None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Between open and lock another worker may have replayed and removed it.
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            return Held(path, fd)
    except OSError:  # locked by a live worker (BlockingIOError), or gone
        pass
    os.close(fd)
    return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """This worker's kept reports: its spool file, and memory when the disk fails."""

    def __init__(
        self, directory: Path, capacity: int = 10_000, max_bytes: int = MAX_FILE_BYTES
    ) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # one append (and fsync) at a time per worker
        self._file: Held | None = None
        self._owner = 0  # the pid that made _file: a forked child makes its own
        self._size = 0
        self._count = 0
        self._memory: deque[Report] = deque(maxlen=capacity)

    def __len__(self) -> int:
        """Reports this worker kept and has neither replayed nor given back yet."""
        with self._lock:
            return self._count + len(self._memory)

    def keep(self, report: Report) -> None:
        """Append `report` to this worker's file and fsync it; in memory if the disk fails."""
        line = report.to_line()
        with self._lock:
            try:
                self._append(line)
                return
            except OSError as exc:
                log.critical(
                    "could not write a %s report to the spool in %s (%s): kept in memory "
                    "only, and lost if this worker dies before Redis is back",
                    report.endpoint,
                    self.dir,
                    exc,
                )
            if len(self._memory) == self._memory.maxlen:
                log.critical("the in-memory spool is full: its oldest report is dropped")
            self._memory.append(report)

    def _append(self, line: bytes) -> None:
        if self._size + len(line) > self.max_bytes:
            raise OSError(errno.EFBIG, f"the spool file reached {self.max_bytes} bytes")
        if self._file is None or self._owner != os.getpid():
            self._file, self._owner, self._size, self._count = create(self.dir), os.getpid(), 0, 0
        fd = self._file.fd
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write to the spool file")
            os.fsync(fd)
        except OSError:
            try:  # no torn line in front of the next report
                os.ftruncate(fd, self._size)
            except OSError:
                self._file.release()  # a fresh file next time; the reader skips a torn end
                self._file = None
            raise
        self._size += len(line)
        self._count += 1

    def seal(self) -> Held | None:
        """Hand this worker's file to a replay if it holds reports; the next starts a new one."""
        with self._lock:
            held = self._file
            if held is None or not self._count or self._owner != os.getpid():
                return None
            self._file, self._size, self._count = None, 0, 0
            return held

    def take_memory(self) -> list[Report]:
        with self._lock:
            out = list(self._memory)
            self._memory.clear()
            return out

    def put_back_memory(self, reports: list[Report]) -> None:
        with self._lock:
            self._memory.extendleft(reversed(reports))


def spool_of(app: Flask) -> Spool:
    """The app's spool, made on first use (in the worker: nothing is opened before a report)."""
    found: Spool | None = app.extensions.get(EXTENSION)
    if found is None:
        settings = services.of(app).settings
        found = app.extensions.setdefault(EXTENSION, Spool(spool_dir(settings)))
    return found


def keep_if_report(app: Flask, exc: BaseException) -> bool:
    """Inside a failed webhook: keep it for replay if it is a report Redis could not take."""
    if request.endpoint not in REPORTS or not isinstance(exc, STORE_ERRORS):
        return False
    form = tuple((k, v) for k, values in request.form.lists() for v in values)
    query = request.query_string.decode("latin-1")
    spool_of(app).keep(Report(request.endpoint, request.path, query, form))
    return True


def replay(app: Flask, base: str) -> int:
    """Apply kept reports: this worker's, then files no live worker holds; return how many.

    Nothing is touched while Redis does not answer. Stops at the first report Redis cannot
    take, keeping it and the rest for next time.
    """
    spool = spool_of(app)
    try:
        services.of(app).engine.redis.ping()
    except STORE_ERRORS:
        return 0
    memory = spool.take_memory()
    done = apply_reports(app, base, memory)
    if done < len(memory):
        spool.put_back_memory(memory[done:])
        return done
    files = _files(spool)
    try:
        for held in files:
            applied, finished = replay_file(app, base, held)
            done += applied
            if not finished:
                break
    finally:
        files.close()  # gives this worker's file back if the loop stopped before it
    return done


def _files(spool: Spool) -> Generator[Held]:
    """This worker's file and every file nobody holds, oldest first, each claimed in turn."""
    sealed = spool.seal()
    found: Held | None
    try:
        for path in sorted(spool.dir.glob("*" + SUFFIX), key=_modified):
            if sealed is not None and path == sealed.path:
                found, sealed = sealed, None
            else:
                found = claim(path)
            if found is not None:
                yield found
        if sealed is not None:  # not listed: renamed by hand
            found, sealed = sealed, None
            yield found
    finally:
        if sealed is not None:
            sealed.release()


def _modified(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def replay_file(app: Flask, base: str, held: Held) -> tuple[int, bool]:
    """Apply a claimed file's reports in order; remove it if all went (count, all went)."""
    try:
        reports = read(held.path)
    except OSError as exc:
        log.critical("cannot read the spool file %s (%s); left for later", held.path, exc)
        held.release()
        return 0, False
    done = apply_reports(app, base, reports)
    if done < len(reports):
        _keep_rest(held, reports[done:], untouched=done == 0)
        return done, False
    held.remove()
    if done:
        log.warning("applied %d report(s) kept while Redis was away (%s)", done, held.path.name)
    return done, True


def read(path: Path) -> list[Report]:
    """The whole reports in a spool file; a line cut short by a dying writer is skipped."""
    lines = path.read_bytes().split(b"\n")
    if lines[-1]:
        log.warning("%s ends in a torn line (its writer died writing it); skipped", path)
    reports = []
    for number, line in enumerate(lines[:-1], start=1):
        try:
            reports.append(Report.from_line(line))
        except (ValueError, KeyError, TypeError):
            log.error("%s line %d is not a kept report; skipped", path, number)
    return reports


def _keep_rest(held: Held, rest: list[Report], *, untouched: bool) -> None:
    """Redis failed part-way: keep only the reports not yet applied, then give the file back."""
    if untouched:
        held.release()
        return
    try:
        fresh = create(held.path.parent)
    except OSError as exc:
        log.error("cannot rewrite %s (%s): all of it is replayed again", held.path, exc)
        held.release()
        return
    try:
        _write_all(fresh.fd, b"".join(report.to_line() for report in rest))
        os.fsync(fresh.fd)
        mtime = os.fstat(held.fd).st_mtime_ns  # keeps its place among the files, oldest first
        os.utime(fresh.fd, ns=(mtime, mtime))
    except OSError as exc:  # the old file still holds every report
        log.error("cannot rewrite %s (%s): all of it is replayed again", held.path, exc)
        fresh.remove()
        held.release()
        return
    held.remove()  # a crash just before this applies the rest twice: harmless
    fresh.release()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def apply_reports(app: Flask, base: str, reports: list[Report]) -> int:
    """Run reports through their views in order until Redis fails; return how many ran."""
    for done, report in enumerate(reports):
        try:
            apply(app, base, report)
        except STORE_ERRORS:
            return done
        except Exception:  # a report that cannot be applied must not block the others
            log.exception("dropping a kept %s report that failed on replay", report.endpoint)
    return len(reports)


def apply(app: Flask, base: str, report: Report) -> None:
    """Run one report through its view, past the signature check (done when it arrived)."""
    if report.endpoint not in REPORTS:  # a spool file is trusted to name report views only
        raise ValueError(f"{report.endpoint!r} is not a report webhook")
    view = app.view_functions[report.endpoint]
    inner = getattr(view, "__wrapped__", view)  # past the signature check and fallback
    with app.test_request_context(
        report.path,
        base_url=base,
        method="POST",
        query_string=report.query,
        data=MultiDict(report.form),
    ):
        inner()
