"""The error tree. The library raises these; the CLI turns them into one line and an exit code."""


class RagError(Exception):
    """Any failure Paracite reports to a user; `exit_code` is what the CLI exits with."""

    exit_code = 1


class BadInput(RagError):
    """The user's input cannot be used (exit code 2): a missing path, an unreadable file…"""

    exit_code = 2


class EncryptedPDF(BadInput):
    """The PDF needs a password that was not given or was wrong."""


class NoText(BadInput):
    """The file has no extractable text (empty, or a scanned image without an OCR layer)."""


class UnreadableFile(BadInput):
    """The file is not a readable PDF or text file."""


class TooExpensive(BadInput):
    """Extracting the file exceeded the configured time or memory bound."""


class IndexProblem(RagError):
    """The index on disk cannot be used as it is: damaged, or built with another embedding model."""
