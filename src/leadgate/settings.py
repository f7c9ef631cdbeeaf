"""leadgate's settings, declared in one table.

Each setting has a name, a default and a help text. A value comes from, in order of
precedence: a command-line flag, the ``LEADGATE_<NAME>`` environment variable, the
workspace's ``leadgate.toml``, the default. ``leadgate settings`` prints them with their source.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadgate.errors import SettingError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return f"LEADGATE_{self.name.upper()}"

    def parse(self, raw: Any, source: str) -> Any:
        """A raw value (text from the environment, or TOML) as this setting's type; no number
        setting takes a negative value (counts, sizes, durations, a port)."""
        value = self._typed(raw, source)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise SettingError(f"setting {self.name} from {source}: {raw!r} is negative; give 0 or more")
        return value

    def _typed(self, raw: Any, source: str) -> Any:
        kind = type(self.default)
        if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
            return raw
        text = str(raw).strip()
        try:
            if kind is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            return kind(text)
        except ValueError:
            raise SettingError(f"setting {self.name} from {source}: {raw!r} is not a valid {kind.__name__}") from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database",
        "leadgate.duckdb",
        "The DuckDB file of the workspace (relative to the workspace), or a PostgreSQL database's URL "
        "(postgresql://user:password@host:port/name).",
    ),
    Setting("playbook", "playbook.yaml", "The playbook file in force (relative to the workspace)."),
    Setting(
        "memory_limit",
        "",
        "DuckDB's memory limit, e.g. 4GB (empty: DuckDB's default, 80% of RAM); beyond it, work spills to disk.",
    ),
    Setting(
        "threads",
        0,
        "DuckDB's threads (0: DuckDB's default, one per core); fewer trade a server's cycle latency for "
        "ingestion throughput (docs/service.md).",
    ),
    Setting("top_leads", 20, "How many leads `leadgate leads` shows when --top is not given."),
    Setting("spark_master", "local[*]", "The Spark master URL `leadgate score --engine spark` scores on."),
    # The outbox: the playbook's notify webhooks and e-mails (docs/notifications.md).
    Setting(
        "webhook_secret",
        "",
        "The secret that signs every webhook (HMAC-SHA256, header Leadgate-Signature); while empty, webhooks wait.",
    ),
    Setting("notify_max_attempts", 20, "Attempts at a webhook or e-mail before it is dead (a dead letter)."),
    Setting(
        "notify_retry_seconds",
        30.0,
        "The wait before the first retry of a failed webhook or e-mail; each next wait doubles, up to an hour.",
    ),
    Setting(
        "notify_max_age_hours",
        24.0,
        "Facts older than this when the outbox collects them are not notified (0: no limit).",
    ),
    Setting(
        "rep_email_domain",
        "",
        "E-mails to: owner or to: manager go to NAME@DOMAIN (the rep's name); while empty, they wait.",
    ),
    Setting("smtp_host", "", "The SMTP server that sends notification e-mails; while empty, e-mails wait."),
    Setting("smtp_port", 0, "The SMTP server's port (0: 25 with smtp_tls none, 587 with starttls, 465 with ssl)."),
    Setting("smtp_tls", "starttls", "How to secure the SMTP connection: none, starttls or ssl."),
    Setting("smtp_user", "", "The SMTP user name (empty: no login)."),
    Setting("smtp_password", "", "The SMTP password (better set as LEADGATE_SMTP_PASSWORD than in the file)."),
    Setting("smtp_from", "", "The From address of notification e-mails (needed once smtp_host is set)."),
    Setting(
        "smtp_ca_file",
        "",
        "A PEM file of the CA certificates the SMTP server's certificate must chain to, instead of the system's "
        "(for a server with a private CA); empty: the system's.",
    ),
    Setting(
        "outbox_keep_days",
        30,
        "Delivered webhooks and e-mails are deleted from the outbox after this many days (0: kept forever); "
        "dead ones are kept.",
    ),
    Setting(
        "session_hours",
        12,
        "A web app sign-in lasts this many hours, then the user signs in again.",
    ),
    Setting(
        "secure_cookies",
        False,
        "Mark the web app's session cookie Secure (sent over HTTPS only): set it when a TLS proxy serves the app.",
    ),
)

SETTINGS_FILE = "leadgate.toml"


@dataclass(frozen=True)
class ResolvedSetting:
    setting: Setting
    value: Any
    source: str  # default, leadgate.toml, environment, flag


def resolve_settings(
    workspace: Path, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, ResolvedSetting]:
    """Every setting's value and where it came from."""
    environ = os.environ if environ is None else environ
    from_file = read_settings_file(workspace / SETTINGS_FILE)
    unknown = sorted(set(from_file) - {setting.name for setting in SETTINGS})
    if unknown:
        raise SettingError(
            f"{workspace / SETTINGS_FILE}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(setting.name for setting in SETTINGS)}"
        )
    resolved: dict[str, ResolvedSetting] = {}
    for setting in SETTINGS:
        value, source = setting.default, "default"
        if setting.name in from_file:
            value, source = setting.parse(from_file[setting.name], SETTINGS_FILE), SETTINGS_FILE
        if setting.env_var in environ:
            value, source = setting.parse(environ[setting.env_var], setting.env_var), "environment"
        if flags and flags.get(setting.name) is not None:
            value, source = setting.parse(flags[setting.name], "--" + setting.name.replace("_", "-")), "flag"
        resolved[setting.name] = ResolvedSetting(setting, value, source)
    return resolved


def read_settings_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("leadgate", data)
    if not isinstance(section, dict):
        raise SettingError(f"{path}: expected a [leadgate] table")
    return section


def settings_file_text() -> str:
    """The settings file ``leadgate init`` writes: every setting, commented, at its default."""
    lines = ["# leadgate workspace settings. Environment variables LEADGATE_<NAME> override them.", "[leadgate]"]
    for setting in SETTINGS:
        lines.append(f"# {setting.help}")
        value = setting.default
        rendered = f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else value
        lines.append(f"{setting.name} = {rendered}")
    return "\n".join(lines) + "\n"
