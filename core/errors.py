"""The one base of every error whose message is meant for the user (German, one line)."""


class LvoError(Exception):
    """A failure the user can act on: the CLI prints `Fehler: <message>` and exits with 2; chat and API show it."""


class ConfigError(LvoError):
    """Invalid settings (lvo.toml, LVO_* variables or flags)."""
