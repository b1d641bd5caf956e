"""Every parse of an uploaded file in a child process with a memory cap: a file that needs too much ends its own
preview or import, never the process that asked for it (the dashboard's server). Progress comes back over a queue
as the child reports it; what the child writes to stderr (a Rust library's abort message and backtrace) goes to
a file the parent logs, never to the user's terminal or page."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import queue
import resource
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from microbranch import settings, storage
from microbranch.contract import ContractError
from microbranch.ingest import ImportResult, Preview, Progress, import_file, preview
from microbranch.ingest.mapping import Mapping

PR_SET_PDEATHSIG = 1
log = logging.getLogger("microbranch.import")
# Children are forked from a server process started once, which has imported this module and nothing else (not
# from the caller: the dashboard's server has threads). Each starts clean, without Python and its imports again.
_CONTEXT = mp.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


def address_space(preview: bool = False) -> int:
    """The cap of a child's address space, in bytes (settings `import_address_space`, `preview_address_space`)."""
    current = settings.current()
    return current.preview_address_space if preview else current.import_address_space


def _outcome(work: Callable[[], object], out: mp.Queue) -> None:
    """Run `work` in the child and put what became of it on the queue."""
    try:
        out.put(("done", work()))
    except ContractError as exc:  # a refusal (e.g. the pseudonymisation key): its message says what to do
        out.put(("refused", exc.key, exc.params))
    except storage.PublishError as exc:  # stored, not published (a full disk): raised again in the parent
        out.put(("unpublished", exc.key, exc.fmt))
    except MemoryError:
        out.put(("memory", None))
    except BaseException as exc:  # reported to the parent, which logs it and refuses the file
        memory = "OutOfMemory" in type(exc).__name__ or "memory" in str(exc).lower() or "thread" in str(exc)
        out.put(("memory" if memory else "error", f"{type(exc).__name__}: {exc}"[:2000]))


def _start_capped(cap: int, stderr: str, out: mp.Queue) -> None:
    out.put(("step", "reading", 0.0))  # starts the queue's sending thread before the cap, so a report always goes
    fd = os.open(stderr, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 2)  # a library's abort message and backtrace go to the parent's log, not to the user
    os.close(fd)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with contextlib.suppress(OSError, AttributeError):  # Linux: end with the parent, as work in-process would
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _import_child(db: Path, source: Path | tuple[str, bytes], user: str, cap: int, kwargs: dict, stderr: str,
                  out: mp.Queue) -> None:
    _start_capped(cap, stderr, out)
    _outcome(lambda: import_file(db, source, user=user, progress=lambda what, done: out.put(("step", what, done)),
                                 **kwargs).as_dict(), out)


def _preview_child(data: bytes, file_name: str, mapping_json: str | None, lang: str, db: Path | None, rows: int,
                   cap: int, stderr: str, out: mp.Queue) -> None:
    _start_capped(cap, stderr, out)
    mapping = Mapping.from_json(mapping_json) if mapping_json else None
    _outcome(lambda: preview(data, file_name, mapping, lang=lang, db=db, rows=rows), out)


def _as_caller(environment: dict[str, str], folder: str, target: Callable[..., None], *args: object) -> None:
    """In the child: the caller's environment (its settings) and working folder, as they are now, then `target`,
    ended if the caller ends first (its parent is the fork server, whose end the kernel's signal tells of): a
    thread waits on the caller's end of the pipe that started the child."""
    settings.take_environment(environment)
    os.chdir(folder)
    caller = mp.parent_process()
    if caller is not None:
        threading.Thread(target=_end_with, args=(caller.sentinel,), daemon=True).start()
    target(*args)


def _end_with(sentinel: int) -> None:
    mp.connection.wait([sentinel])
    os.kill(os.getpid(), signal.SIGKILL)


def _run(target: Callable[..., None], args: tuple, progress: Progress | None = None) -> tuple[tuple, int | None]:
    """Start `target(*args, stderr, out)` in a child of the fork server and wait for its outcome; the child's
    stderr, if any, is logged."""
    out: mp.Queue = _CONTEXT.Queue()
    fd, stderr = tempfile.mkstemp(prefix="microbranch-child-", suffix=".log")
    os.close(fd)
    caller = (settings.environment_for_child(), os.getcwd())
    child = _CONTEXT.Process(target=_as_caller, args=(*caller, target, *args, stderr, out), daemon=True)
    outcome: tuple = ("died", None)
    try:
        child.start()
        while True:
            try:
                message = out.get(timeout=0.5)
            except queue.Empty:
                if not child.is_alive():
                    break
                continue
            if message[0] == "step":
                if progress:
                    progress(message[1], message[2])
                continue
            outcome = message
            break
        child.join()
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        with contextlib.suppress(OSError):
            text = Path(stderr).read_text(errors="replace").strip()
            if text:
                lines = text.splitlines()
                log.warning("a child process reading a file wrote (exit %s): %s%s", child.exitcode, lines[0][:500],
                            f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
            os.unlink(stderr)
    return outcome, child.exitcode


def _refusal(outcome: tuple, code: int | None, cap: int, what: str) -> ContractError:
    """Why the file was refused, for an outcome that is not a result."""
    gib = f"{cap / (1 << 30):.1f} GiB"
    if outcome[0] == "memory":
        return ContractError(f"imp_{what}_memory", gib=gib)
    if outcome[0] == "refused":
        return ContractError(outcome[1], **outcome[2])
    if outcome[0] == "died":
        return ContractError(f"imp_{what}_stopped", code=code, gib=gib)
    log.error("reading a file failed: %s", outcome[1])
    return ContractError(f"imp_{what}_failed")


def import_isolated(db: Path, source: Path | tuple[str, bytes], user: str = "cli", progress: Progress | None = None,
                    **kwargs: object) -> ImportResult:
    """`import_file` in a child process capped at `address_space()` bytes. A file on disk is read by the
    child; an upload's bytes reach it through the pipe that starts it, never through a file."""
    name, size = (source.name, source.stat().st_size) if isinstance(source, Path) else (source[0], len(source[1]))
    cap = address_space()
    try:
        outcome, code = _run(_import_child, (db, source, user, cap, kwargs), progress)
    finally:
        storage.clear_work(db)  # anything a killed child left (if no other import runs now)
    if outcome[0] == "done":
        return ImportResult(**outcome[1])
    if outcome[0] == "unpublished":
        raise storage.PublishError(outcome[1], **outcome[2])
    reason = _refusal(outcome, code, cap, "isolated").text(str(kwargs.get("lang", "en")))
    return ImportResult(name, size, "", "refused", message=reason)


def preview_isolated(data: bytes, file_name: str, mapping: Mapping | None = None, lang: str = "en",
                     db: Path | None = None, rows: int = 10) -> Preview:
    """Preview this upload in the child: `ingest.preview` in a child process capped at `address_space(preview=
    True)` bytes, so no file, however made, can take the caller's memory or end it. Raises ContractError (one
    sentence) for a file that cannot be previewed, whatever the reason."""
    cap = address_space(preview=True)
    outcome, code = _run(_preview_child, (data, file_name, mapping.to_json() if mapping else None, lang, db, rows,
                                          cap))
    if outcome[0] == "done":
        return outcome[1]
    raise _refusal(outcome, code, cap, "preview")
