"""One exception family, so CLIs can print a single clear line instead of a traceback."""


class SerZooError(Exception):
    """A user-facing error: the message names the item and says what to do."""


class AudioError(SerZooError):
    """An audio file that cannot be used (missing, empty, corrupt, silent, too short or too long)."""


class ConfigError(SerZooError):
    """An unknown name or an inconsistent setting in a recipe."""
