"""The item embedder: the model that ships in the wordllama wheel, loaded with no network."""

from __future__ import annotations

import numpy as np
import pytest

from service.errors import ModelError
from service.ingest import embed
from service.ingest.embed import DIMENSIONS, Embedder, from_blob, shared_embedder, to_blob


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_embedder()


def test_rows_are_unit_length_float32(embedder: Embedder) -> None:
    vectors = embedder.embed(["Diffusion models for image synthesis", "Speech recognition"])
    assert vectors.shape == (2, DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_related_texts_are_closer_than_unrelated(embedder: Embedder) -> None:
    a, b, c = embedder.embed(
        [
            "Denoising diffusion models generate high-resolution images",
            "A latent diffusion model for text-to-image generation",
            "Reinforcement learning for legged robot locomotion on rough terrain",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.1


def test_empty_text_gives_zero_row_and_no_input_no_rows(embedder: Embedder) -> None:
    vectors = embedder.embed(["", "graph neural networks"])
    assert not vectors[0].any()
    assert embedder.embed([]).shape == (0, DIMENSIONS)


def test_long_text_is_cut_and_same_text_same_vector(embedder: Embedder) -> None:
    long = "transformer attention " * 50_000  # about 1 MB
    first, second = embedder.embed([long, long[: embed.MAX_CHARS]])
    assert np.array_equal(first, second)


def test_blob_round_trip(embedder: Embedder) -> None:
    (vector,) = embedder.embed(["mixture of experts routing"])
    blob = to_blob(vector)
    assert len(blob) == 4 * DIMENSIONS
    assert np.array_equal(from_blob(blob), vector)


def test_missing_model_file_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "_WEIGHTS", "weights/does-not-exist.safetensors")
    with pytest.raises(ModelError, match="could not be loaded"):
        Embedder.load()
