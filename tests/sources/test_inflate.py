"""Large-piece xz and bzip2 decompression, against the standard library's file objects on the same bytes."""

from __future__ import annotations

import bz2
import io
import lzma
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostriage.sources import _inflate

_KINDS: dict[str, tuple[Callable[[bytes], bytes], Callable[[io.BytesIO], _inflate.Inflating], type]] = {
    "xz": (lzma.compress, _inflate.xz, lzma.LZMAFile),
    "bzip2": (bz2.compress, _inflate.bzip2, bz2.BZ2File),
}


def _all(reader: _inflate.Inflating, size: int = -1) -> bytes:
    out = bytearray()
    while piece := reader.read1(size):
        out += piece
    return bytes(out)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(sorted(_KINDS)),
       streams=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
       size=st.sampled_from([-1, 1, 100, 4096]))
def test_concatenated_streams_read_as_the_file_objects_read_them(kind: str, streams: list[bytes], size: int) -> None:
    compress, inflating, reference = _KINDS[kind]
    data = b"".join(compress(s) for s in streams)
    with reference(io.BytesIO(data)) as ref:
        expected = ref.read()
    assert expected == b"".join(streams)
    assert _all(inflating(io.BytesIO(data)), size) == expected


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_pieces_are_bounded_and_garbage_after_the_last_stream_ends_the_data(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inflate, "PIECE", 1000)
    compress, inflating, _ = _KINDS[kind]
    reader = inflating(io.BytesIO(compress(b"a" * 10_000) + b"not a stream at all"))
    pieces = []
    while piece := reader.read1():
        pieces.append(piece)
    assert b"".join(pieces) == b"a" * 10_000
    assert max(map(len, pieces)) == 1000


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_a_truncated_stream_gives_what_it_holds_then_eof_error(kind: str) -> None:
    compress, inflating, _ = _KINDS[kind]
    whole = compress(bytes(range(256)) * 4000)
    reader = inflating(io.BytesIO(whole[:len(whole) // 2]))
    got = bytearray()
    with pytest.raises(EOFError):
        while piece := reader.read1():
            got += piece
    assert bytes(got) == (bytes(range(256)) * 4000)[:len(got)]


def test_garbage_from_the_start_is_an_error_not_an_empty_stream() -> None:
    with pytest.raises(lzma.LZMAError):
        _inflate.xz(io.BytesIO(b"\xfd7zXZ\x00 but nothing an xz stream holds")).read1()
