from __future__ import annotations

import pytest

from coviu_sandbox.binary import BLOCK_SIZE, STREAM_CHUNK_SIZE, expected_bytes, stream_bytes

BLOB = "5f1d5c9e-recording"


def test_bytes_depend_only_on_the_blob_id() -> None:
    assert expected_bytes(BLOB, 12_345, 4096) == expected_bytes(BLOB, 12_345, 4096)
    assert expected_bytes(BLOB, 0, 4096) != expected_bytes("another-blob", 0, 4096)


def test_every_blob_starts_with_a_webm_header() -> None:
    assert expected_bytes(BLOB, 0, 4) == bytes.fromhex("1a45dfa3")
    assert b"webm" in expected_bytes(BLOB, 0, 40)


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, 1), (1, 10), (BLOCK_SIZE - 3, 7), (BLOCK_SIZE, BLOCK_SIZE), (3 * BLOCK_SIZE - 1, 2 * BLOCK_SIZE + 5), (10, 0)],
)
def test_any_window_is_a_slice_of_the_whole(offset: int, length: int) -> None:
    whole = expected_bytes(BLOB, 0, 6 * BLOCK_SIZE)
    assert expected_bytes(BLOB, offset, length) == whole[offset : offset + length]


def test_an_offset_error_of_one_byte_shows() -> None:
    assert expected_bytes(BLOB, 1, 1024) != expected_bytes(BLOB, 0, 1024)
    far = 700 * 1024 * 1024
    assert expected_bytes(BLOB, far + 1, 1024) != expected_bytes(BLOB, far, 1024)


def test_blocks_are_not_repeated() -> None:
    blocks = {expected_bytes(BLOB, index * BLOCK_SIZE, BLOCK_SIZE) for index in range(1, 64)}
    assert len(blocks) == 63


def test_negative_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        expected_bytes(BLOB, -1, 10)


async def test_stream_yields_aligned_chunks_that_add_up_to_the_range() -> None:
    first, last = 1000, 3 * STREAM_CHUNK_SIZE + 17
    chunks = [chunk async for chunk in stream_bytes(BLOB, first, last)]
    assert b"".join(chunks) == expected_bytes(BLOB, first, last - first + 1)
    assert len(chunks[0]) == STREAM_CHUNK_SIZE - first
    assert all(len(chunk) == STREAM_CHUNK_SIZE for chunk in chunks[1:-1])
    assert len(chunks[-1]) == 18


async def test_an_empty_range_streams_nothing() -> None:
    assert [chunk async for chunk in stream_bytes(BLOB, 0, -1)] == []
