"""The words items and sources are described with: kinds of item, levels of source, the key a
title is matched by, the name of the model that made stored vectors. Shared by ingest (which
writes them) and rank (which reads them), siblings that do not import each other.

Apart from the records (``service.records``, two dozen dataclasses) so that what only needs the
words (the settings and the catalog, a CLI option's choices) does not build the records too.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["paper", "podcast", "post", "video"]
KINDS: tuple[Kind, ...] = ("paper", "podcast", "post", "video")
Level = Literal["research", "practitioner", "overview"]
LEVELS: tuple[Level, ...] = ("research", "practitioner", "overview")
MODEL_NAME = "wordllama-l2_supercat-256"  # the embedding model of stored vectors (ingest.embed)
DIMENSIONS = 256  # the width of a stored item vector (float32)
MAX_KEY_CHARS = 300
_WORD = re.compile(r"\w[\w.-]*\w|\w")


def title_key(title: str) -> str:
    """A title without case, punctuation or spacing differences (``""`` for none)."""
    return " ".join(_WORD.findall(title.casefold()))[:MAX_KEY_CHARS]
