"""An import in a child process with a memory cap: a file that needs too much ends its own import, never the
process that asked for it (the dashboard's server). Progress comes back over a queue as the child reports it."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import queue
import resource
import signal
from pathlib import Path

from microbranch import settings, store
from microbranch.contract import ContractError
from microbranch.i18n import t
from microbranch.ingest import ImportResult, Progress, import_file

PR_SET_PDEATHSIG = 1


def _child(db: Path, source: Path | tuple[str, bytes], user: str, cap: int, out: mp.Queue, kwargs: dict) -> None:
    out.put(("step", "reading", 0.0))  # starts the queue's sending thread before the cap, so a report always goes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with contextlib.suppress(OSError, AttributeError):  # Linux: end with the parent, as an import in-process would
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        result = import_file(db, source, user=user,
                             progress=lambda what, done: out.put(("step", what, done)), **kwargs)
        out.put(("done", result.as_dict()))
    except ContractError as exc:  # e.g. the pseudonymisation key: its message says what to do
        out.put(("refused", str(exc)))
    except store.PublishError as exc:  # stored, not published (a full disk): raised again in the parent
        out.put(("unpublished", exc.key, exc.fmt))
    except MemoryError:
        out.put(("memory", None))
    except BaseException as exc:  # reported to the parent, which logs it and refuses the file
        memory = "OutOfMemory" in type(exc).__name__ or "memory" in str(exc).lower() or "thread" in str(exc)
        kind = "memory" if memory else "error"
        out.put((kind, f"{type(exc).__name__}: {exc}"[:2000]))


def import_isolated(db: Path, source: Path | tuple[str, bytes], user: str = "cli", progress: Progress | None = None,
                    **kwargs: object) -> ImportResult:
    """`import_file` in a spawned child process capped at the setting `import_address_space` (bytes): DuckDB
    keeps to `import_memory` and spills beyond; the rest is Python, polars and the file's bytes. A file on disk is
    read by the child; an upload's bytes reach it through the pipe that starts it, never through a file."""
    name, size = (source.name, source.stat().st_size) if isinstance(source, Path) else (source[0], len(source[1]))
    cap = settings.current().import_address_space
    ctx = mp.get_context("spawn")  # not fork: the server has threads, and the child starts clean
    out: mp.Queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(db, source, user, cap, out, kwargs), daemon=True)
    child.start()
    outcome: tuple = ("died", None)
    try:
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
        store.clear_work(db)  # anything a killed child left (if no other import runs now)
    if outcome[0] == "done":
        return ImportResult(**outcome[1])
    if outcome[0] == "unpublished":
        raise store.PublishError(outcome[1], **outcome[2])
    gib = f"{cap / (1 << 30):.1f} GiB"
    lang = str(kwargs.get("lang", "en"))
    if outcome[0] == "memory":
        reason = t("imp_isolated_memory", lang, gib=gib)
    elif outcome[0] == "refused":
        reason = outcome[1]
    elif outcome[0] == "died":
        reason = t("imp_isolated_stopped", lang, code=child.exitcode, gib=gib)
    else:
        logging.getLogger("microbranch.import").error("import of a file failed: %s", outcome[1])
        reason = t("imp_isolated_failed", lang)
    return ImportResult(name, size, "", "refused", message=reason)
