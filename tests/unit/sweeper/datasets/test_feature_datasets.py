from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from instruments.errors import ConfigError
from sweeper.datasets import sample, validate
from sweeper.datasets.images import png_bytes
from sweeper.datasets.kinds.image_folder import ImageFolderDatasetConfig
from sweeper.datasets.kinds.random_mm import RandomMMDatasetConfig
from sweeper.datasets.kinds.rerank import RerankDatasetConfig


def decode_png(data: bytes) -> tuple[int, int, np.ndarray]:
    """(width, height, pixels) of an 8-bit RGB PNG, every chunk CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
            assert body[8:10] == b"\x08\x02"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all()
    return w, h, rows[:, 1:].reshape(h, w, 3)


def images_of(spec: object) -> list[bytes]:
    parts = spec.messages[0]["content"]  # type: ignore[attr-defined]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert all(u.startswith("data:image/png;base64,") for u in urls)
    return [base64.b64decode(u.split(",", 1)[1]) for u in urls]


def test_png_round_trip() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    w, h, back = decode_png(png_bytes(pixels))
    assert (w, h) == (7, 5) and (back == pixels).all()


def test_random_mm_counts_sizes_and_text() -> None:
    cfg = RandomMMDatasetConfig(
        input_len=20, min_images=0, max_images=3, image_sizes=[[32, 16], [8, 8]], seed=1
    )
    specs = sample(cfg, 30, None)
    counts = [int(s.labels["images"]) for s in specs]
    assert set(counts) == {0, 1, 2, 3}
    for i, spec in enumerate(specs):
        images = images_of(spec)
        assert len(images) == counts[i]
        sizes = [decode_png(b)[:2] for b in images]
        assert sizes == [((32, 16), (8, 8))[(i + k) % 2] for k in range(len(images))]
        assert spec.messages[0]["content"][0] == {"type": "text", "text": spec.prompt}
        assert spec.prompt_len == 20
    assert sample(cfg, 30, None)[5].messages == specs[5].messages


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"image_sizes": [[0, 4]]}, "image_sizes"),
        ({"image_sizes": []}, "image_sizes"),
        ({"min_images": 2, "max_images": 1}, "min_images"),
    ],
)
def test_random_mm_bad_config(kw: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"dataset.{key}"):
        validate(RandomMMDatasetConfig(**kw))


def test_image_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dataset\.path"):
        validate(ImageFolderDatasetConfig(path=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match="no images"):
        validate(ImageFolderDatasetConfig(path=str(tmp_path)))
    png = png_bytes(np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    cfg = ImageFolderDatasetConfig(path=str(tmp_path), images_per_request=2, input_len=8)
    validate(cfg)
    specs = sample(cfg, 10, None)
    urls = [p["image_url"]["url"] for s in specs for p in s.messages[0]["content"][1:]]
    assert len(urls) == 20
    assert {u.split(";")[0] for u in urls} == {"data:image/png", "data:image/jpeg"}


def test_rerank_documents() -> None:
    specs = sample(RerankDatasetConfig(query_len=5, num_documents=3, document_len=7), 4, None)
    for s in specs:
        assert len(s.extra_body["documents"]) == 3
        assert s.prompt_len == 5 + 3 * 7 and s.output_len is None
