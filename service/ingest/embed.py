"""Item vectors: a dense 256-dimension embedding of an item's text, from a static model that ships.

The model is WordLlama's ``l2_supercat`` (token embeddings distilled from an LLM, averaged over the
tokens of a text; here as a sparse matrix of token counts times the table, one product per batch,
instead of WordLlama's gather over a padded batch: the same vectors to 1e-7, and the pooling
costs a tenth of the tokenizing). Its weights (16 MB, float16) and its tokenizer are files inside
the ``wordllama`` wheel, so nothing is fetched at run time; both are read straight from the
installed package (``WordLlama.load`` looks for the tokenizer in a folder that does not exist and
would then try the network).

``Embedder.embed`` maps texts to float32 rows of unit length (an empty text gives a zero row), so a
dot product is the cosine similarity. Texts are cut to ``MAX_CHARS`` first: the mean of the first
few hundred tokens says what an item is about, and the cost stays bounded for a 1 MB abstract.
The embedder is pure (same text, same vector) and safe to share between threads.

An item's text is its title and summary (``item_text``). Chosen by measurement
(``python -m bench.similar``, 3,000 recent labelled papers, share of the 5 nearest neighbours that
share an arXiv-mapped area, same run; a random pair shares one 49 % of the time): title + abstract
queries 0.845 with the text cut to 400 characters (0.833 at 2,000) against TF-IDF's 0.837 (fitted
on the test papers themselves); title-only queries — the many feeds that give only a title —
0.803 against TF-IDF's 0.757. The dense vector needs no vocabulary fitted per installation, is
256 floats (1 KB) per item whatever the text, and the 400-character cut costs about a quarter of
the 2,000-character one. So items carry the dense vector only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.errors import ModelError
from service.vocabulary import DIMENSIONS, MODEL_NAME

MAX_CHARS = 400
_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Texts -> unit-length float32 vectors (``DIMENSIONS`` wide)."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, table: npt.NDArray[np.float32], tokenizer: Any) -> None:
        self._table = np.ascontiguousarray(table, dtype=np.float32)
        self._tokenizer = tokenizer
        tokenizer.no_padding()  # each text's tokens only: no padded batch to pool over
        tokenizer.no_truncation()
        from scipy.sparse import csr_matrix

        self._sparse_rows = csr_matrix

    @classmethod
    def load(cls) -> Embedder:
        """Read the shipped weights and tokenizer; ``ModelError`` when they are missing."""
        try:
            import wordllama
            from safetensors import safe_open
            from tokenizers import Tokenizer

            root = Path(wordllama.__file__).parent
            with safe_open(str(root / _WEIGHTS), framework="np", device="cpu") as weights:
                table = weights.get_tensor("embedding.weight")
            tokenizer = Tokenizer.from_file(str(root / _TOKENIZER))
        except Exception as e:  # any failure to read the model means: no vectors, say why
            raise ModelError(f"the embedding model could not be loaded: {e}") from e
        return cls(table, tokenizer)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text; an empty or token-less text gives a row of zeros."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(
            [text[:MAX_CHARS] for text in texts], add_special_tokens=False
        )
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.intp, count=len(texts))
        ids = np.fromiter(
            chain.from_iterable(e.ids for e in encodings), dtype=np.intp, count=int(lengths.sum())
        )
        np.clip(ids, 0, len(self._table) - 1, out=ids)
        # Each text's token counts (a sparse row over the vocabulary) times the table: the sum
        # of its token rows, its mean up to a factor the norm removes, with no padded batch.
        offsets = np.zeros(len(texts) + 1, dtype=np.intp)
        np.cumsum(lengths, out=offsets[1:])
        counts = self._sparse_rows(
            (np.ones(ids.size, dtype=np.float32), ids, offsets),
            shape=(len(texts), len(self._table)),
        )
        sums = np.asarray(counts @ self._table, dtype=np.float32)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        np.divide(sums, norms, out=sums, where=norms > 0)
        return sums


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """The process's one embedder, loaded on first use (0.3 s) and kept."""
    global _shared  # noqa: PLW0603 - one model per process, loaded lazily
    with _shared_lock:
        if _shared is None:
            _shared = Embedder.load()
        return _shared


def item_text(title: str, summary: str) -> str:
    """The text an item's vector is made of: its title, then its summary."""
    return f"{title}\n{summary}" if summary else title


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    """A vector as stored: little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> Vectors:
    """A stored vector back as float32 (``DIMENSIONS`` long)."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
