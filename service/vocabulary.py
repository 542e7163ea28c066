"""The words items and sources are described with: kinds of item, levels of source.

Apart from the records (``service.records``, two dozen dataclasses) so that what only needs the
words (the settings and the catalog, a CLI option's choices) does not build the records too.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["paper", "podcast", "post", "video"]
KINDS: tuple[Kind, ...] = ("paper", "podcast", "post", "video")
Level = Literal["research", "practitioner", "overview"]
LEVELS: tuple[Level, ...] = ("research", "practitioner", "overview")
