"""The read-ahead thread of a tarball's decompression: same bytes, errors where the data ends, clean stop."""

from __future__ import annotations

import io
import lzma
import threading

import pytest

from ostriage.sources._prefetch import Prefetched


def _all(stream: Prefetched, size: int = 1 << 20) -> bytes:
    out = bytearray()
    while piece := stream.read1(size):
        out += piece
    return bytes(out)


def test_gives_the_stream_as_it_is_in_pieces_of_any_size() -> None:
    data = bytes(range(256)) * 40_000
    with Prefetched(lzma.LZMAFile(io.BytesIO(lzma.compress(data)))) as stream:
        assert _all(stream, 1000) == data
        assert stream.read1(10) == b""


def test_a_truncated_stream_raises_after_the_data_before_the_cut() -> None:
    data = b"Nov 25 05:53:01 ctl kernel: Out of memory: Killed process 4242 (neutron-server)\n" * 20_000
    cut = lzma.compress(data)[:-200]
    with Prefetched(lzma.LZMAFile(io.BytesIO(cut))) as stream:
        got = bytearray()
        with pytest.raises(EOFError):
            while piece := stream.read1(1 << 20):
                got += piece
        assert 0 < len(got) < len(data) and data.startswith(bytes(got))
        with pytest.raises(EOFError):  # and again: the stream does not restart
            stream.read1(10)


def test_leaving_early_stops_the_thread() -> None:
    endless = io.BufferedReader(io.BytesIO(b"x" * (64 << 20)))
    with Prefetched(endless) as stream:
        assert stream.read1(10) == b"x" * 10
    assert not [t for t in threading.enumerate() if t.name == "ostriage-unpack"]
