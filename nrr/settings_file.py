"""The TOML settings file, read strictly: every mistake in it is one sentence naming the file,
the line and the key.

pydantic-settings' own TOML source ignores unknown keys (a typo such as `reporting_curency`
silently keeps the default), lets a syntax error escape as a traceback, and reports a wrong
type under the environment variable's name. This module reads the file itself, checks the
keys against the settings' fields, and remembers on which line each key sits, so that
`describe_validation_error` can say "nrr.toml, line 4: `acv_smb_upper` ..." instead.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import InitSettingsSource, PydanticBaseSettingsSource

from nrr.errors import NrrError

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_settings import BaseSettings

DEFAULT_CONFIG = "nrr.toml"


class SettingsError(NrrError):
    """The configuration (file, environment or flags) cannot be used as it is."""


def config_path() -> tuple[Path, bool]:
    """The settings file and whether it was named explicitly (NRR_CONFIG)."""
    named = os.environ.get("NRR_CONFIG")
    if named is not None and named.strip():
        return Path(named.strip()), True
    return Path(DEFAULT_CONFIG), False


def key_lines(text: str) -> dict[str, int]:
    """Top-level key (or table name) -> the 1-based line where the file sets it."""
    lines: dict[str, int] = {}
    table: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]\s.]+)", stripped)
        if header and not stripped.startswith("[["):
            table = header.group(1).strip("\"'")
            lines.setdefault(table, number)
            continue
        key = re.match(r"""^["']?([A-Za-z0-9_\-]+)["']?\s*[.=]""", stripped)
        if key and table is None:
            lines.setdefault(key.group(1), number)
    return lines


def _syntax_line(exc: tomllib.TOMLDecodeError, text: str) -> str:
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if found:
        return f"line {found.group(1)}"
    return f"line {max(1, len(text.splitlines()))} (end of file)"


def accepted_keys(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """Every name the file may use -> the field it sets (field names and their aliases)."""
    keys: dict[str, str] = {}
    for name, field in settings_cls.model_fields.items():
        keys[name] = name
        alias = field.validation_alias
        for choice in getattr(alias, "choices", ()):
            if isinstance(choice, str):
                keys.setdefault(choice, name)
    return keys


class StrictTomlSource(InitSettingsSource):
    """Settings from the TOML file; unknown keys and syntax errors are SettingsError."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read the settings file {path}: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
            raise SettingsError(
                f"{path}, {_syntax_line(exc, text)}: not valid TOML ({message.strip()})"
            ) from None
        self.lines = key_lines(text)
        accepted = accepted_keys(settings_cls)
        for key in data:
            if key not in accepted:
                line = self.lines.get(key)
                where = f"{path}, line {line}" if line else str(path)
                close = difflib.get_close_matches(key, list(settings_cls.model_fields), n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise SettingsError(f"{where}: unknown setting `{key}`{hint}")
        self.fields_set = {accepted[key] for key in data}
        LOADED_FILES[path] = self
        super().__init__(settings_cls, data)

    def __repr__(self) -> str:
        return f"StrictTomlSource(path={self.path!r})"


# The file read by the latest Settings() of each path (to place validation errors in it).
LOADED_FILES: dict[Path, StrictTomlSource] = {}


def toml_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
    """The settings file's source, or None when there is no file (a missing NRR_CONFIG file
    is an error: the user named it)."""
    path, named = config_path()
    if path.is_file():
        return StrictTomlSource(settings_cls, path)
    if named:
        what = "is a directory" if path.is_dir() else "does not exist"
        raise SettingsError(f"NRR_CONFIG names the settings file {path}, which {what}")
    LOADED_FILES.pop(path, None)
    return None


def _from_environment(settings_cls: type[BaseSettings], field: str) -> str | None:
    """The environment variable that set `field`, if one did."""
    info = settings_cls.model_fields[field]
    names = [*getattr(info.validation_alias, "choices", ()), f"NRR_{field}"]
    present = {key.upper() for key in os.environ}
    for name in names:
        if isinstance(name, str) and name.upper() in present:
            return name.upper()
    return None


def describe_validation_error(
    settings_cls: type[BaseSettings], exc: ValidationError, overrides: dict[str, Any]
) -> str:
    """One sentence per problem, saying where the bad value came from and what it was."""
    path, _ = config_path()
    source = LOADED_FILES.get(path)
    accepted = accepted_keys(settings_cls)
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        field = accepted.get(loc[0]) if loc else None
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        shown = (
            f" (got {value!r})"
            if value is not None and not isinstance(value, dict) and repr(value) not in message
            else ""
        )
        if field is None:
            problems.append(f"{'.'.join(loc) or 'settings'}: {message}")
        elif field in overrides:
            problems.append(f"{field} (command line): {message}{shown}")
        elif (env := _from_environment(settings_cls, field)) is not None:
            problems.append(f"{env}: {message}{shown}")
        elif source is not None and field in source.fields_set:
            line = source.lines.get(field) or next(
                (source.lines[k] for k, f in accepted.items() if f == field and k in source.lines),
                None,
            )
            where = f"{source.path}, line {line}" if line else str(source.path)
            problems.append(f"{where}: `{field}`: {message}{shown}")
        else:
            problems.append(f"{field}: {message}{shown}")
    return "; ".join(problems)
