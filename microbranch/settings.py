"""Every setting of the dashboard and the command line, read in one place: `current()`.

A setting comes from the environment (`MICROBRANCH_<NAME>`), else from the `[microbranch]` section of
`.streamlit/secrets.toml` (the key `<name>`; the project folder's file, then `~/.streamlit/secrets.toml`), else
from its default. `docs/settings.md` lists them all (a test fails when one is missing there). No other module
reads the environment: they take `current()`, or a parameter.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT = Path(__file__).resolve().parent.parent
PREFIX = "MICROBRANCH_"


class SettingsError(ValueError):
    """A setting's value cannot be used; the message names the setting and what it takes."""


def _size(text: str) -> int:
    """Bytes from `123`, `600MB` or `12GB`."""
    text = text.strip().upper()
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def _years(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError("a whole number of years, 1 or more")
    return int(text)


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone such as Asia/Shanghai") from None
    return text


def _yes(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("yes or no")


def _setting(default: object, parse, doc: str, secret: bool = False):  # noqa: ANN001, ANN202 - a dataclass field
    return field(default=default, metadata={"parse": parse, "doc": doc}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    db: Path = _setting(PROJECT / "data" / "microbranch.duckdb", Path,
                        "the writer database file; every file beside it is named from it (absolute once read)")
    key_file: Path | None = _setting(None, Path, "the pseudonymisation key (default: microbranch.key beside the "
                                                 "database)")
    lang: str = _setting("zh", str, "language of the command line's and the core's messages without a viewer")
    import_memory: str = _setting("3GB", str, "DuckDB's memory for an import; beyond it DuckDB spills to disk")
    import_address_space: int = _setting(12 << 30, _size, "address space of the import's child process (bytes, "
                                                          "or with MB / GB)")
    preview_address_space: int = _setting(3 << 30, _size, "address space of an upload preview's child process "
                                                          "(bytes, or with MB / GB)")
    fold_at_bytes: int | None = _setting(None, _size, "fold the writer's log into a new snapshot base past this "
                                                      "size (default: 10% of the base and at least 64 MB)")
    retention_years: int | None = _setting(None, _years, "years of loan events `retention` keeps (none: nothing "
                                                         "is deleted)")
    scorecard: Path | None = _setting(None, Path, "the scorecard targets file (default: microbranch/scorecard.toml)")
    chromium: Path = _setting(Path("/usr/bin/chromium"), Path, "the chromium that prints the PDF report")
    tile_url: str | None = _setting(None, str, "XYZ street tiles under the maps, with {z}, {x}, {y} (none: "
                                               "offline maps on white)")
    tile_crs: str = _setting("wgs84", lambda s: "gcj02" if s.lower().replace("-", "") == "gcj02" else "wgs84",
                             "the tiles' coordinates: wgs84 or gcj02 (Chinese web maps)")
    tile_attribution: str = _setting("", str, "the tiles' source, shown on the map")
    time_zone: str = _setting("Asia/Shanghai", _zone, "the time zone of every time shown and recorded (imports, the "
                                                      "audit, retention): an IANA name")
    report_after_import: bool = _setting(True, _yes, "after an import or an undo, make the district report of the "
                                         "latest whole month (HTML, both languages) in a background process, so the "
                                         "first one asked for is served from its kept pieces")
    idle_minutes: float = _setting(30.0, float, "a session ends after this many minutes without use (also "
                                                "`[access] idle_minutes`)")
    smtp_host: str | None = _setting(None, str, "the mail server that sends the report and the staff's alerts "
                                                "(none: nothing is mailed)")
    smtp_port: int = _setting(587, int, "the mail server's port")
    smtp_starttls: bool = _setting(True, _yes, "whether to switch the connection to TLS (STARTTLS) before signing in "
                                               "(yes or no)")
    smtp_user: str | None = _setting(None, str, "the name to sign in to the mail server with (none: no sign-in)")
    smtp_password: str | None = _setting(None, str, "the mail server's password: from the environment or the "
                                                    "secrets file, never the command line", secret=True)
    mail_from: str = _setting("microbranch@localhost", str, "the sender address of the mail")
    staff_email: str | None = _setting(None, str, "where a failed inbox file or a failed delivery is reported")
    stale_days: int = _setting(3, int, "days without an import after which the dashboard warns that the data is "
                                       "old")
    inbox_settle_seconds: float = _setting(60.0, float, "a file in the inbox is imported once it has not changed "
                                                        "for this many seconds")


def env_name(name: str) -> str:
    return PREFIX + name.upper()


def _secrets(folder: Path) -> dict:
    """The `[microbranch]` section of the secrets files (the project's over the home folder's); `[access]
    idle_minutes`, where the first version of the sign-in read it, counts as `[microbranch] idle_minutes`."""
    found: dict = {}
    for path in (Path.home() / ".streamlit" / "secrets.toml", folder / ".streamlit" / "secrets.toml"):
        try:
            conf = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if "idle_minutes" in conf.get("access", {}):
            found["idle_minutes"] = conf["access"]["idle_minutes"]
        found.update(conf.get("microbranch", {}))
    return found


def load(environ: dict[str, str], folder: Path = PROJECT) -> Settings:
    """Settings from these environment variables and the secrets under `folder`; raises SettingsError."""
    secrets = _secrets(folder)
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = environ.get(env_name(f.name))
        origin = env_name(f.name)
        if raw is None or not raw.strip():
            raw, origin = secrets.get(f.name), f"[microbranch] {f.name}"
        if raw is None or not str(raw).strip():
            continue
        try:
            values[f.name] = f.metadata["parse"](str(raw).strip())
        except ValueError:
            msg = f"the setting {origin} = {raw!r} cannot be used; it is {f.metadata['doc']}"
            raise SettingsError(msg) from None
    db = Path(values.get("db", Settings.db)).expanduser()
    values["db"] = db if db.is_absolute() else (Path.cwd() / db).resolve()
    return Settings(**values)  # type: ignore[arg-type]


_built: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def current() -> Settings:
    """This process's settings, built once (and again only when its MICROBRANCH_ variables change, as the tests
    change them from one test to the next)."""
    global _built
    seen = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    if _built is None or _built[0] != seen:
        _built = (seen, load(dict(seen)))
    return _built[1]


def environment_for_child(**overrides: object) -> dict[str, str]:
    """This process's environment with settings overridden (e.g. `db=...`), for a process it becomes or starts."""
    return {**os.environ, **{env_name(name): str(value) for name, value in overrides.items()}}


def take_environment(environment: dict[str, str]) -> None:
    """Make `environment` this process's own (a child given its caller's, from `environment_for_child`)."""
    os.environ.clear()
    os.environ.update(environment)
