"""Images as data URLs: synthetic PNGs (numpy + zlib, no imaging library) and local files."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sweeper.records import RequestSpec

MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an (height, width, 3) uint8 array."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"png_bytes: need an (h, w, 3) uint8 array, got {pixels.shape}")
    height, width, _ = pixels.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def random_png(width: int, height: int, rng: np.random.Generator) -> bytes:
    """Random colour blocks over noise: decodes like a photo-sized image, compresses a little."""
    noise = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    block = max(min(width, height) // 8, 1)
    coarse = rng.integers(0, 256, size=(-(-height // block), -(-width // block), 3), dtype=np.uint8)
    tiles = np.repeat(np.repeat(coarse, block, axis=0), block, axis=1)[:height, :width]
    return png_bytes(((tiles.astype(np.uint16) * 3 + noise) // 4).astype(np.uint8))


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image_part(url: str) -> dict[str, object]:
    return {"type": "image_url", "image_url": {"url": url}}


def folder_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MIME)


def mm_spec(
    text: str, n: int, output_len: int, urls: list[str], labels: dict[str, str]
) -> RequestSpec:
    """A chat request of `text` (n tokens) followed by the images at `urls`."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [image_part(u) for u in urls]
    return RequestSpec(
        prompt=text,
        prompt_len=n,
        output_len=output_len,
        messages=[{"role": "user", "content": content}],
        labels=labels,
    )
