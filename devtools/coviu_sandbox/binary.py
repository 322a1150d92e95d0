"""Deterministic content for recordings and submission files, generated on the fly.

A binary is defined by its id alone: byte ``n`` of a blob is the same on every run, so a 1 GiB
recording costs no memory and any client can check what it downloaded with
:func:`expected_bytes`. Each 64 KiB block is a rotation of a per-blob random pattern, picked by
a hash of the block index, which is cheap to produce yet makes any offset error visible. Block 0
starts with a WebM (EBML) header so content sniffers recognise the type.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from functools import lru_cache

BLOCK_SIZE = 64 * 1024
STREAM_CHUNK_SIZE = 4 * BLOCK_SIZE

# EBML header: version 1, read version 1, max id length 4, max size length 8, doc type "webm" v4/v2.
_WEBM_HEADER = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102")


@lru_cache(maxsize=64)
def _pattern(blob_id: str) -> bytes:
    base = random.Random(f"coviu-sandbox:{blob_id}").randbytes(BLOCK_SIZE)
    return base + base


def _block(blob_id: str, index: int) -> bytes:
    digest = hashlib.blake2b(f"{blob_id}:{index}".encode(), digest_size=4).digest()
    shift = int.from_bytes(digest, "big") % BLOCK_SIZE
    block = _pattern(blob_id)[shift : shift + BLOCK_SIZE]
    if index == 0:
        return _WEBM_HEADER + block[len(_WEBM_HEADER) :]
    return block


def expected_bytes(blob_id: str, offset: int, length: int) -> bytes:
    """The ``length`` bytes of blob ``blob_id`` starting at ``offset``.

    Recordings use their submission id as blob id, submission files their file id.
    """
    if offset < 0 or length < 0:
        raise ValueError("offset and length must not be negative")
    if length == 0:
        return b""
    first_block = offset // BLOCK_SIZE
    last_block = (offset + length - 1) // BLOCK_SIZE
    joined = b"".join(_block(blob_id, index) for index in range(first_block, last_block + 1))
    start = offset - first_block * BLOCK_SIZE
    return joined[start : start + length]


async def stream_bytes(blob_id: str, first: int, last: int) -> AsyncIterator[bytes]:
    """Yield bytes ``first..last`` (inclusive) in chunks aligned to block boundaries.

    Yields control to the event loop after every chunk: on loopback the socket rarely pushes
    back, and one large download must not starve every other request.
    """
    position = first
    while position <= last:
        boundary = (position // STREAM_CHUNK_SIZE + 1) * STREAM_CHUNK_SIZE
        length = min(boundary, last + 1) - position
        yield expected_bytes(blob_id, position, length)
        position += length
        await asyncio.sleep(0)
