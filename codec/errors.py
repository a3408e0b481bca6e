"""Error types the codec package raises for problems a user can fix."""


class CodecError(Exception):
    """Base for user-facing codec errors; the message is one clear line."""


class WeightsError(CodecError):
    """A weights file or model source could not be loaded (bad format, names, shapes...)."""


class AudioError(CodecError):
    """An audio file could not be read or written."""


class Cancelled(CodecError):
    """A long job was cancelled by its caller."""


def check_cancelled(cancel, what: str) -> None:
    """Raise Cancelled("<what> cancelled") if `cancel` (a () -> bool, or None) says so."""
    if cancel is not None and cancel():
        raise Cancelled(f"{what} cancelled")
