"""A lean forward-only reader of tar headers and member data, over a decompressed stream.

``tarfile``'s stream mode reads its input in 10 KiB pieces through a pure-Python buffer and builds every
header with a dozen field conversions; on a sosreport (thousands of members, most of them never unpacked)
that costs as much as the decompression itself. This reader takes the stream in pieces of up to 1 MiB
(``read1``: what one step of the decompressor gives, so data before a damaged spot is never lost to a
read-ahead that fails), converts only what the extraction looks at (name, link, size, type, sparseness)
and skips unwanted data without copying it. Members come out as ``tarfile.TarInfo`` so the extraction's
type tests stay tarfile's own. Members whose raw name matches ``skip`` are counted and passed over without
being built at all.

Formats: POSIX ustar (with its name prefix), GNU (long names and links, old sparse files with their
extension blocks) and pax (``path``, ``linkpath``, ``size``, GNU sparse keys; global records apply to every
later member), as GNU tar, bsdtar, Python's tarfile and sos write them.

Damage is not an exception at a header: ``next`` returns ``None`` and ``stopped_by`` says why
(``None`` after the end-of-archive block). Data that ends early raises ``EOFError``; decompression errors
propagate as the decompressor raises them.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from typing import Protocol
from zlib import adler32

__all__ = ["MAX_METADATA", "TarReader"]

BLOCK = 512
_CHUNK = 1024 * 1024
#: largest long name or pax header believed (real ones are a few hundred bytes; they are held in memory)
MAX_METADATA = 1024 * 1024
_ZERO_BLOCK = bytes(BLOCK)
_USTAR = b"ustar\x00"
_LONG_NAME, _LONG_LINK = tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK
_PAX = frozenset({tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE})
#: types whose header size is not data that follows (tarfile reads it the same way)
_NO_DATA = frozenset({tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE,
                      tarfile.BLKTYPE})


class _Reader(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


#: header types ``TarReader._pass_over`` takes: no extension of the header, nothing in the data it needs
_PLAIN = _NO_DATA | {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE}
_PAX_BYTE = tarfile.XHDTYPE[0]

#: what ``_header`` returns for a member passed over by ``TarReader.skip``
_SKIPPED = tarfile.TarInfo("(skipped)")


class _Damaged(Exception):
    """A header that is not a tar header."""


class TarReader:
    """Members of a tar stream in order; after ``next`` returns one, its data is read with ``copy_to`` or
    skipped (by the next ``next``)."""

    def __init__(self, stream: _Reader) -> None:
        self._stream = stream
        #: raw names (bytes, as in the header) of members to pass over without building them; set by the
        #: caller once it knows what it wants, applied while ``members`` is under ``skip_until``
        self.skip: re.Pattern[bytes] | None = None
        self.skip_until = 0
        #: members read so far, skipped or returned
        self.members = 0
        self._buf = b""
        self._pos = 0
        self._left = 0  # data (with its padding) of the current member not yet consumed
        self._global: dict[str, str] = {}
        self._ended = False
        #: why reading headers stopped early (``None``: at the end-of-archive block, or not yet)
        self.stopped_by: str | None = None
        #: bytes of the tar stream consumed
        self.offset = 0

    # -- the stream ----------------------------------------------------------------------------
    def _take(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the stream)."""
        if self._pos + n <= len(self._buf):
            out = self._buf[self._pos:self._pos + n]
            self._pos += n
        else:
            parts = [self._buf[self._pos:]]
            have = len(parts[0])
            while have < n:
                chunk = self._stream.read1(_CHUNK)
                if not chunk:
                    break
                parts.append(chunk)
                have += len(chunk)
            joined = b"".join(parts)
            out, self._buf, self._pos = joined[:n], joined, min(n, len(joined))
        self.offset += len(out)
        return out

    def _skip(self, n: int) -> None:
        while n > 0:
            in_buffer = len(self._buf) - self._pos
            if in_buffer >= n:
                self._pos += n
                self.offset += n
                return
            self.offset += in_buffer
            n -= in_buffer
            self._buf, self._pos = self._stream.read1(_CHUNK), 0
            if not self._buf:
                raise EOFError("unexpected end of data")

    def _data(self, size: int) -> bytes:
        data = self._take(_padded(size))
        if len(data) < _padded(size):
            raise EOFError("unexpected end of data")
        return data[:size]

    def _block(self) -> bytes:
        """The next header block (read once per header: the common case is inlined from ``_take``)."""
        pos = self._pos
        if pos + BLOCK <= len(self._buf):
            self._pos = pos + BLOCK
            self.offset += BLOCK
            return self._buf[pos:pos + BLOCK]
        block = self._take(BLOCK)
        if not block:
            raise _Damaged("ends without the end-of-archive block")
        if len(block) < BLOCK:
            raise _Damaged("truncated header")
        return block

    # -- members -------------------------------------------------------------------------------
    def next(self) -> tarfile.TarInfo | None:
        """The next member, or ``None`` at the end (see ``stopped_by``)."""
        self._skip(self._left)
        self._left = 0
        if self._ended or self.stopped_by is not None:
            return None
        try:
            while True:
                if self.skip is not None and self.members < self.skip_until:
                    self._pass_over()
                    self._skip(self._left)
                    self._left = 0
                member = self._header()
                if member is not _SKIPPED:
                    return member
                self._skip(self._left)
                self._left = 0
        except _Damaged as exc:
            self.stopped_by = str(exc)
            return None

    def copy_to(self, out: _Writer, size: int) -> None:
        """Write the first ``size`` bytes of the current member's data to ``out``."""
        while size > 0:
            if self._pos >= len(self._buf):
                self._buf, self._pos = self._stream.read1(_CHUNK), 0
                if not self._buf:
                    raise EOFError("unexpected end of data")
            n = min(size, len(self._buf) - self._pos)
            out.write(memoryview(self._buf)[self._pos:self._pos + n])
            self._pos += n
            self.offset += n
            self._left -= n
            size -= n

    def _pass_over(self) -> None:
        """Consume, straight from the buffer, the members in a row that ``skip`` matches: a report with cgroups
        has ~85,000 of them under sys/, and ``_header`` costs several times as much per member. Only the common
        shapes are taken (a ustar or GNU header of a plain type, after at most one pax header whose only key read
        is ``path``); at anything else this stops before it and ``_header`` reads it again.

        Checksums are not verified here: nothing of these members but their size and name is used, a damaged
        size puts the next header out of step (no magic there: ``_header`` then finds the bad checksum), and a
        compressed report's own check (xz's CRC64, gzip's CRC32, bzip2's CRC) covers every byte. In a plain
        ``.tar`` a header passed over with a damaged name or type and a sound size goes unnoticed: the members
        after it are read as if it were sound. The last member's data may run past the buffer: what is left of
        it is left in ``_left``."""
        if self._global:
            return  # a global pax record (size, path, sparse keys) applies to every member: _header's work
        buf, pos = self._buf, self._pos
        end, skip = len(buf), self.skip
        assert skip is not None
        room = self.skip_until - self.members
        start, passed = pos, 0
        try:
            while passed < room and pos + BLOCK <= end:
                # ``pos`` moves only past a whole member: at a stop, its pax header is left for _header
                at, name, header_at = pos + BLOCK, None, pos
                if buf[pos + 156] == _PAX_BYTE:
                    size = _plain_size(buf, pos)
                    header_at = at + (size + 511) // BLOCK * BLOCK
                    if size > MAX_METADATA or header_at + BLOCK > end:
                        break
                    data = buf[at:at + size]
                    if b"size=" in data or b"GNU.sparse." in data:
                        break
                    if b"path=" in data:
                        name = _pax_path(data)
                    at = header_at + BLOCK
                block = buf[header_at:at]
                kind = block[156:157]
                if block[257:262] != b"ustar" or kind not in _PLAIN:
                    break
                raw = _raw_name(block)
                if not skip.match(raw if name is None else name):
                    break
                if kind in _NO_DATA or (kind == tarfile.AREGTYPE and raw.endswith(b"/")):
                    pos = at
                else:
                    pos = at + (_plain_size(buf, header_at) + 511) // BLOCK * BLOCK
                passed += 1
        except (ValueError, IndexError, _Damaged):
            pass  # not the common shape (an odd pax record, a damaged size): _header reads it again
        self.members += passed
        self._left = max(0, pos - end)
        self._pos = min(pos, end)
        self.offset += self._pos - start

    def _header(self) -> tarfile.TarInfo | None:
        """The next member, ``None`` at the end-of-archive block, or ``_SKIPPED`` (its data left to skip)."""
        pax = dict(self._global)
        long_name = long_link = None
        while True:
            block = self._block()
            if block == _ZERO_BLOCK:
                self._ended = True
                return None
            _check_sum(block)
            kind = block[156:157]
            size = _number(block[124:136])
            if kind in (_LONG_NAME, _LONG_LINK) or kind in _PAX or kind == tarfile.XGLTYPE:
                if size > MAX_METADATA:
                    raise _Damaged(f"a {size}-byte name or pax header, over the {MAX_METADATA}-byte limit")
                data = self._data(size)
                if kind == _LONG_NAME:
                    long_name = _text(data.split(b"\x00", 1)[0])
                elif kind == _LONG_LINK:
                    long_link = _text(data.split(b"\x00", 1)[0])
                elif kind == tarfile.XGLTYPE:
                    self._global.update(_pax_records(data))
                    pax.update(self._global)
                else:
                    pax.update(_pax_records(data))
                continue
            self.members += 1
            if self.skip is not None and self.members <= self.skip_until:
                name = pax.get("path", long_name or None)  # an empty long name is no name: _member's rule
                raw = _raw_name(block) if name is None else name.encode("utf-8", "surrogateescape")
                if self.skip.match(raw):
                    directory = kind == tarfile.AREGTYPE and _raw_name(block).endswith(b"/")
                    self._left = 0 if directory else _padded(self._data_size(block, kind, size, pax))
                    return _SKIPPED
            return self._member(block, kind, size, pax, long_name, long_link)

    def _member(self, block: bytes, kind: bytes, size: int, pax: dict[str, str], long_name: str | None,
                long_link: str | None) -> tarfile.TarInfo:
        name = _text(_raw_name(block))
        if kind == tarfile.AREGTYPE and name.endswith("/"):
            kind = tarfile.DIRTYPE
        member = tarfile.TarInfo(pax.get("path", long_name or name))
        member.type = kind
        member.linkname = pax.get("linkpath", long_link or _text(block[157:257].split(b"\x00", 1)[0]))
        if kind == tarfile.GNUTYPE_SPARSE or any(k.startswith("GNU.sparse.") for k in pax):
            member.sparse = b""  # never unpacked: marking it (not None) is enough
        size = self._data_size(block, kind, size, pax)
        member.size = size
        if member.isdir():
            member.name = member.name.rstrip("/")
        self._left = _padded(size)
        return member

    def _data_size(self, block: bytes, kind: bytes, size: int, pax: dict[str, str]) -> int:
        """The size of the data after the header (reading past old GNU sparse extension blocks)."""
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise _Damaged("invalid pax size") from None
        if kind == tarfile.GNUTYPE_SPARSE and block[482]:
            self._skip_sparse_extensions()
        return 0 if kind in _NO_DATA else size

    def _skip_sparse_extensions(self) -> None:
        while True:
            block = self._take(BLOCK)
            if len(block) < BLOCK:
                raise _Damaged("truncated sparse header")
            if not block[504]:
                return


def _raw_name(block: bytes) -> bytes:
    name = block[0:100].split(b"\x00", 1)[0]
    if block[257:263] == _USTAR and block[345] != 0:
        return block[345:500].split(b"\x00", 1)[0] + b"/" + name
    return name


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _plain_size(buf: bytes, header: int) -> int:
    """The size field of the header at ``header`` in ``buf``, as ``_number`` reads it, in a third of the time
    for the form every tar writer uses for sizes under 8 GiB (eleven octal digits and a NUL): passing over
    reads two a member."""
    if buf[header + 135] == 0 and 0x30 <= buf[header + 124] <= 0x37:
        return int(buf[header + 124:header + 135], 8)
    return _number(buf[header + 124:header + 136])


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU's base-256 (first byte 0x80)."""
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    if field[0] & 0x80:
        raise _Damaged("invalid header")  # negative base-256: no size or mode is negative
    text = field.split(b"\x00", 1)[0]
    if text.strip()[:1] in (b"-", b"+"):
        raise _Damaged("invalid header")  # int() would take a sign: no size is negative
    try:
        return int(text, 8)  # int() takes the blanks around the digits itself
    except ValueError:
        if not text.strip():
            return 0
        raise _Damaged("invalid header") from None


def _byte_sum(data: bytes) -> int:
    """``sum(data)`` for up to 512 bytes, in a tenth of the time: Adler-32's low half is 1 + the byte sum
    modulo 65521, exact for 256 bytes (at most 65,280)."""
    return (adler32(data[:256]) & 0xFFFF) + (adler32(data[256:]) & 0xFFFF) - 2


def _check_sum(block: bytes) -> None:
    stored = _number(block[148:156])
    unsigned = _byte_sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return
    # some old tars summed the bytes as signed chars
    signed = unsigned - 2 * sum(b for b in block[:148] + block[156:] if b >= 0x80)
    if stored != signed:
        raise _Damaged("bad checksum")


def _pax_raw(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The ``LENGTH key=value\\n`` records of a pax header, raw; ``_Damaged`` at a malformed one."""
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise _Damaged("invalid pax header") from None
        record = data[space + 1:pos + length]
        if length <= 0 or space < 0 or not record.endswith(b"\n") or b"=" not in record:
            raise _Damaged("invalid pax header")
        key, value = record[:-1].split(b"=", 1)
        yield key, value
        pos += length


def _pax_path(data: bytes) -> bytes | None:
    """The raw ``path`` of a pax header (the last one wins), by ``_pax_raw``'s rules inlined: it runs for most
    members passed over (57,606 of 84,960 in a report with cgroups), and the generator costs a tenth of their
    time."""
    path = None
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        length = int(data[pos:space])  # ValueError: _pass_over leaves the header to _header, which says why
        end = pos + length
        if length <= 0 or space < 0 or data[end - 1] != 0x0A or data.find(b"=", space, end) < 0:
            raise _Damaged("invalid pax header")
        if data.startswith(b"path=", space + 1):
            path = data[space + 6:end - 1]
        pos = end
    return path


def _pax_records(data: bytes) -> dict[str, str]:
    """The records of a pax header; a malformed one ends the header as damaged. Only the keys read here
    matter: a header without them (Python's tarfile writes one with ``mtime`` for every member it adds, as sos
    does) is not parsed."""
    if b"path=" not in data and b"size=" not in data and b"GNU.sparse." not in data:
        return {}
    return {_text(key): _text(value) for key, value in _pax_raw(data)}
