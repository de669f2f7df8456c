"""One exception family, so CLIs can print a single clear line instead of a traceback."""


class SerZooError(Exception):
    """A user-facing error: the message names the item and says what to do."""


class AudioError(SerZooError):
    """An audio file that cannot be used (missing, empty, corrupt, silent, too short or too long)."""


def error_reason(error: Exception, path) -> str:
    """``error``'s message without the leading ``<path>: ``, for a batch job that shows the file beside it."""
    return str(error).removeprefix(f"{path}: ")


class ConfigError(SerZooError):
    """An unknown name or an inconsistent setting in a recipe."""


class RunsFailed(SerZooError):
    """Some (model, fold) runs of a batch job failed; the others went on and their rows are written."""

    def __init__(self, failures: list[str]):
        self.failures = list(failures)
        shown = "; ".join(self.failures[:3]) + (
            f"; and {len(self.failures) - 3} more" if len(failures) > 3 else ""
        )
        super().__init__(
            f"{len(self.failures)} run(s) failed and wrote no row ({shown}); the runs that finished are in "
            "their CSVs: fix the cause and rerun the same command, which runs only what is missing"
        )
