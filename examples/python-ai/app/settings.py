"""Everything the service reads from its environment, checked once at start.

A problem ends the process with exit code 1 and one JSON line on stderr that names the variable (and
the file, for secrets) but never a secret's content.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

SERVICE = "python-ai"
LOG_LEVELS = ("debug", "info", "warn", "error")
CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
# Set by the official python image: the id of the public key that signs CPython releases.
NOT_CREDENTIALS = frozenset({"GPG_KEY"})


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    port: int
    log_level: str
    shutdown_timeout_ms: int
    secrets: dict[str, str] = field(repr=False)
    # What /health shows: addresses and names, never a credential.
    public: dict[str, object] = field(default_factory=dict)


def _integer(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f'{name}: expected an integer from {low} to {high}, got "{raw}"')
    return value


def _read_secrets(env: dict[str, str]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for name in sorted(env):
        if not name.endswith("_FILE"):
            # Credentials in plain env leak through `docker inspect` and child processes.
            if CREDENTIAL_NAME.search(name) and name not in NOT_CREDENTIALS:
                raise SettingsError(
                    f"{name}: credentials are read from files only; "
                    f"set {name}_FILE to a file path instead"
                )
            continue
        path = env[name]
        try:
            with open(path, encoding="utf-8") as handle:
                content = handle.read()
        except OSError as err:
            code = err.__class__.__name__ if err.errno is None else os.strerror(err.errno)
            raise SettingsError(f"{name}: cannot read secret file {path} ({code})") from None
        except UnicodeDecodeError:
            raise SettingsError(f"{name}: secret file {path} is not UTF-8 text") from None
        # A trailing newline is an artefact of how the file was written, not part of the secret.
        value = content[:-1] if content.endswith("\n") else content
        if value.strip() == "":
            raise SettingsError(f"{name}: secret file {path} is empty")
        secrets[name[: -len("_FILE")]] = value
    return secrets


def _display_url(raw: str | None) -> str | None:
    """A URL as it may be shown: any password in it is masked."""
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        if parts.password is None:
            return raw
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "(invalid URL)"


def load(env: dict[str, str]) -> Settings:
    secrets = _read_secrets(env)
    log_level = env.get("LOG_LEVEL") or "info"
    if log_level not in LOG_LEVELS:
        raise SettingsError(
            f'LOG_LEVEL: expected one of {", ".join(LOG_LEVELS)}, got "{log_level}"'
        )
    return Settings(
        port=_integer(env, "PORT", 5001, 1, 65535),
        log_level=log_level,
        shutdown_timeout_ms=_integer(env, "SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000),
        secrets=secrets,
        public={
            "ollamaUrl": _display_url(env.get("OLLAMA_URL")),
            "apiUrl": _display_url(env.get("API_URL")),
            "n8nUrl": _display_url(env.get("N8N_URL")),
            "apiServiceKeyConfigured": "API_SERVICE_KEY" in secrets,
        },
    )


@functools.lru_cache(maxsize=1)
def load_or_exit() -> Settings:
    try:
        return load(dict(os.environ))
    except SettingsError as err:
        line = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "level": "error",
            "service": SERVICE,
            "msg": str(err),
        }
        sys.stderr.write(json.dumps(line) + "\n")
        sys.exit(1)
