"""Paracite: answers about UN documents that cite the documents' own numbered paragraphs."""

from rag.errors import RagError
from rag.parse import parse_file
from rag.settings import Settings
from rag.types import Document, Parsed, Unit

__all__ = ["Document", "Parsed", "RagError", "Settings", "Unit", "parse_file"]
