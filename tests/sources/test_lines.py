"""Line splitting: the block-at-once decoding against the line-at-a-time reading it replaced."""

from __future__ import annotations

import io
from collections.abc import Iterator

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ostriage.sources import _lines
from ostriage.sources._lines import iter_lines, truncation_marker


def _line_at_a_time(stream: io.BytesIO, max_line: int, chunk: int) -> Iterator[str]:
    """The reading before blocks were decoded at once: each line found, then decoded, on its own."""
    def decode(raw: bytes | bytearray, dropped: int) -> str:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > max_line:
            dropped += len(raw) - max_line
            raw = raw[:max_line]
        text = bytes(raw).decode("utf-8", errors="replace")
        return text + truncation_marker(dropped) if dropped else text

    pending = bytearray()
    dropped = 0
    while True:
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            yield decode(pending[start:end], dropped)
            dropped = 0
            start = end + 1
        del pending[:start]
        if len(pending) > max_line:
            dropped += len(pending) - max_line
            del pending[max_line:]
        data = stream.read(chunk)
        if not data:
            break
        pending += data
    if pending or dropped:
        yield decode(pending, dropped)


_PIECES = st.sampled_from([b"\n", b"\r\n", b"\r", b"a", b"word ", b"\xff", b"\xe2\x82", b"\xe2\x82\xac",
                           b"\xf0\x9f\x98", "é".encode(), b"\x00", b"x" * 40])


@settings(max_examples=300, deadline=None)
@example(data="é".encode() * 5 + b"\nnext\n", max_line=9, chunk=4096)  # 5 characters, 10 bytes: over
@given(data=st.lists(_PIECES, max_size=120).map(b"".join), max_line=st.sampled_from([4, 9, 16, 64, 1024]),
       chunk=st.sampled_from([1, 7, 32, 4096]))
def test_lines_are_those_of_line_at_a_time_reading(data: bytes, max_line: int, chunk: int) -> None:
    expected = list(_line_at_a_time(io.BytesIO(data), max_line, chunk))
    original = _lines.CHUNK
    _lines.CHUNK = chunk
    try:
        assert list(iter_lines(io.BytesIO(data), max_line)) == expected
    finally:
        _lines.CHUNK = original
