"""The lean tar reader against Python's tarfile on archives in each format tarfile writes, and on damage."""

from __future__ import annotations

import io
import re
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ostriage.sources._tar_reader import MAX_METADATA, TarReader

LONG = "sosreport-host/" + "/".join(["sos_commands"] + ["deep-directory-name"] * 8) + "/journalctl_--no-pager"


def _archive(fmt: int, members: list[tuple[str, bytes, bytes, str]], pax: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, pax_headers=pax or {}) as tar:
        for name, kind, data, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = kind, link, 0o644
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def _read(data: bytes, want: set[str] | None = None) -> tuple[list[tuple[str, bytes, int, str, bytes]], TarReader]:
    """(name, type, size, link, data) of each member; the data of those in ``want`` (all when None)."""
    reader = TarReader(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    out = []
    while (member := reader.next()) is not None:
        body = io.BytesIO()
        if want is None or member.name in want:
            reader.copy_to(body, member.size)
        out.append((member.name, member.type, member.size, member.linkname, body.getvalue()))
    return out, reader


def _tarfile_view(data: bytes) -> list[tuple[str, bytes, int, str, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar:
            body = tar.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            out.append((m.name, m.type, m.size if m.isreg() else 0, m.linkname, body))
    return out


MEMBERS = [
    ("sosreport-host", tarfile.DIRTYPE, b"", ""),
    ("sosreport-host/version.txt", tarfile.REGTYPE, b"sosreport: 4.5\n", ""),
    (LONG, tarfile.REGTYPE, b"Nov 25 05:53:01 ctl systemd[1]: Started x.\n" * 300, ""),
    ("sosreport-host/etc/neutron/plugin.ini", tarfile.SYMTYPE, b"", "plugins/ml2/" + "m" * 120 + ".ini"),
    ("sosreport-host/etc/hard", tarfile.LNKTYPE, b"", "sosreport-host/version.txt"),
    ("sosreport-host/dev/null", tarfile.CHRTYPE, b"", ""),
    ("sosreport-host/empty", tarfile.REGTYPE, b"", ""),
    ("sosreport-host/exactly-a-block", tarfile.REGTYPE, b"x" * 512, ""),
]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_reads_what_tarfile_reads(fmt: int) -> None:
    data = _archive(fmt, MEMBERS)
    members, reader = _read(data)
    assert members == _tarfile_view(data)
    assert members[2][0] == LONG and len(LONG) > 100  # a GNU long name or a pax path
    assert reader.stopped_by is None


def test_ustar_names_use_the_prefix_field() -> None:
    name = "sosreport-host/" + "d" * 90 + "/" + "f" * 80
    data = _archive(tarfile.USTAR_FORMAT, [(name, tarfile.REGTYPE, b"ok\n", "")])
    assert _read(data)[0] == [(name, tarfile.REGTYPE, 3, "", b"ok\n")]


def test_data_not_asked_for_is_skipped() -> None:
    data = _archive(tarfile.GNU_FORMAT, MEMBERS)
    members, _ = _read(data, want={"sosreport-host/empty"})
    assert [m[0] for m in members] == [m[0] for m in MEMBERS]
    assert all(body == b"" for *_, body in members)


def test_a_global_pax_header_applies_and_sparse_keys_mark_a_sparse_file() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("sosreport-host/disk.img")
        info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
        tar.addfile(info, io.BytesIO(b""))
    members = []
    reader = TarReader(io.BufferedReader(io.BytesIO(buf.getvalue())))  # type: ignore[arg-type]
    while (member := reader.next()) is not None:
        members.append(member)
    assert [(m.name, m.issparse()) for m in members] == [("sosreport-host/disk.img", True)]


def test_a_bad_checksum_stops_the_headers_with_the_reason() -> None:
    data = bytearray(_archive(tarfile.GNU_FORMAT, MEMBERS[:2]))
    data[512 + 10] ^= 0xFF  # the second header's name
    members, reader = _read(bytes(data))
    assert [m[0] for m in members] == ["sosreport-host"]
    assert reader.stopped_by == "bad checksum"


def test_an_archive_without_its_end_blocks_says_so() -> None:
    data = _archive(tarfile.GNU_FORMAT, MEMBERS[:2])
    members, reader = _read(data[:512 * 3])  # two headers and the file's one data block
    assert len(members) == 2
    assert reader.stopped_by == "ends without the end-of-archive block"


def test_data_ending_early_raises() -> None:
    data = _archive(tarfile.GNU_FORMAT, MEMBERS[:3])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        cut = tar.getmembers()[-1].offset_data + 1024  # inside the long-named file's data
    reader = TarReader(io.BufferedReader(io.BytesIO(data[:cut])))  # type: ignore[arg-type]
    reader.next(), reader.next()
    member = reader.next()
    assert member is not None and member.size > 1024
    with pytest.raises(EOFError):
        reader.copy_to(io.BytesIO(), member.size)


def test_an_oversized_long_name_is_refused_before_it_is_read() -> None:
    header = tarfile.TarInfo("././@LongLink")
    header.type, header.size = tarfile.GNUTYPE_LONGNAME, MAX_METADATA + 1
    data = header.tobuf(format=tarfile.GNU_FORMAT)
    members, reader = _read(data)
    assert members == []
    assert reader.stopped_by == f"a {MAX_METADATA + 1}-byte name or pax header, over the {MAX_METADATA}-byte limit"


@given(st.binary(max_size=4096))
def test_arbitrary_bytes_end_or_stop_and_never_raise_anything_but_eof(data: bytes) -> None:
    try:
        _, reader = _read(data)
    except EOFError:
        return
    assert reader.offset <= len(data)


def test_a_pax_header_with_only_times_leaves_the_member_as_its_header_says() -> None:
    """Python's tarfile (as sos uses it) writes a pax header with ``mtime`` for every file it adds."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("sosreport-host/version.txt")
        info.mtime, info.size = 1764000000.25, 3
        tar.addfile(info, io.BytesIO(b"4.5"))
    data = buf.getvalue()
    assert b"mtime=" in data
    assert _read(data)[0] == [("sosreport-host/version.txt", tarfile.REGTYPE, 3, "", b"4.5")]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_members_passed_over_by_name_are_counted_and_the_rest_stays_in_step(fmt: int) -> None:
    """Every kind of member (long names, links, devices, data of each size) passed over without being built."""
    kept = ("sosreport-host/version.txt", tarfile.REGTYPE, b"sosreport: 4.5\n", "")
    passed = [(m[0].replace("sosreport-host/", "sosreport-host/sys/", 1), *m[1:]) for m in MEMBERS[1:]
              if fmt != tarfile.USTAR_FORMAT or (len(m[0]) < 200 and len(m[3]) < 100)]
    data = _archive(fmt, [*passed, kept, *passed, kept])
    # a directory whose header declares a size: nothing follows it (as tarfile reads it)
    sized_dir = tarfile.TarInfo("sosreport-host/sys/block")
    sized_dir.type, sized_dir.size = tarfile.DIRTYPE, 1024
    data = sized_dir.tobuf(format=fmt) + data
    reader = TarReader(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    reader.skip, reader.skip_until = re.compile(rb"sosreport-host/sys/"), 10_000
    members = []
    while (member := reader.next()) is not None:
        body = io.BytesIO()
        reader.copy_to(body, member.size)
        members.append((member.name, body.getvalue()))
    assert members == [(kept[0], kept[2])] * 2
    assert reader.members == 2 * len(passed) + 3
    assert reader.stopped_by is None


def test_members_past_the_skipping_limit_are_returned() -> None:
    data = _archive(tarfile.GNU_FORMAT, [(f"sosreport-host/sys/{i}", tarfile.REGTYPE, b"x", "") for i in range(5)])
    reader = TarReader(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    reader.skip, reader.skip_until = re.compile(rb"sosreport-host/sys/"), 3
    first = reader.next()
    assert first is not None and first.name == "sosreport-host/sys/3"
    assert reader.members == 4


def test_a_passed_over_member_whose_size_is_wrong_stops_the_headers_not_the_check() -> None:
    """Members passed over are not checksummed: a size that puts the stream out of step must still end in
    damage at the block that is not a header, never in data read as members."""
    data = bytearray(_archive(tarfile.PAX_FORMAT, [
        ("sosreport-host/sys/a", tarfile.REGTYPE, b"\x01" * 2048, ""),
        ("sosreport-host/version.txt", tarfile.REGTYPE, b"4.5", ""),
    ]))
    header = data.index(b"sosreport-host/sys/a\x00")  # the ustar header (the pax header names no path)
    data[header + 124:header + 136] = b"%011o\x00" % 1024  # half the data: the next "header" is data
    data[header + 148:header + 156] = b"%06o\x00 " % (sum(data[header:header + 148]) + 256
                                                       + sum(data[header + 156:header + 512]))
    reader = TarReader(io.BufferedReader(io.BytesIO(bytes(data))))  # type: ignore[arg-type]
    reader.skip, reader.skip_until = re.compile(rb"sosreport-host/sys/"), 10_000
    assert reader.next() is None
    assert reader.stopped_by in ("bad checksum", "invalid header")
    assert reader.members == 1


def test_a_wanted_member_after_members_passed_over_keeps_its_pax_name_and_link() -> None:
    """The pax header of the member where passing over stops is that member's: its long name and link target
    must come through whole (sos's tarfile writes a pax header before every member)."""
    long_link = "../" + "target-" * 20
    passed = [(f"sosreport-host/sys/{i}", tarfile.REGTYPE, b"x" * i, "") for i in range(5)]
    data = _archive(tarfile.PAX_FORMAT, [*passed, (LONG, tarfile.REGTYPE, b"journal\n", ""),
                                         *passed, ("sosreport-host/etc/link", tarfile.SYMTYPE, b"", long_link)],
                    pax={"mtime": "1.5"})
    reader = TarReader(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    reader.skip, reader.skip_until = re.compile(rb"sosreport-host/sys/"), 10_000
    got = []
    while (member := reader.next()) is not None:
        body = io.BytesIO()
        reader.copy_to(body, member.size)
        got.append((member.name, member.linkname, body.getvalue()))
    assert got == [(LONG, "", b"journal\n"), ("sosreport-host/etc/link", long_link, b"")]
    assert reader.stopped_by is None


def test_a_negative_size_is_damage_not_a_step_back() -> None:
    data = bytearray(_archive(tarfile.GNU_FORMAT, [("sosreport-host/sys/a", tarfile.REGTYPE, b"", "")]))
    for kind in (b"L", b"0"):
        damaged = bytearray(data)
        damaged[156:157] = kind
        damaged[124:136] = b"-0001000\x00   "
        damaged[148:156] = b"%06o\x00 " % (sum(damaged[:148]) + 256 + sum(damaged[156:512]))
        for skip in (None, re.compile(rb"sosreport-host/sys/")):
            reader = TarReader(io.BufferedReader(io.BytesIO(bytes(damaged))))  # type: ignore[arg-type]
            reader.skip, reader.skip_until = skip, 10_000
            assert reader.next() is None
            assert reader.stopped_by == "invalid header"


def test_a_global_pax_size_is_applied_to_members_passed_over() -> None:
    """A global record applies to every later member: passing over must not read sizes past it. Here a global
    ``size=512`` is the only place the passed-over member's size is given (its own header says 0)."""
    data = bytearray(_archive(tarfile.PAX_FORMAT, [(f"sosreport-host/sys/{c}", tarfile.REGTYPE, b"x" * 512, "")
                                                   for c in "abc"]
                              + [("sosreport-host/version.txt", tarfile.REGTYPE, b"y" * 512, "")],
                              pax={"size": "512"}))
    for c in "abc":
        header = data.index(b"sosreport-host/sys/%s\x00" % c.encode())
        data[header + 124:header + 136] = b"%011o\x00" % 0
        data[header + 148:header + 156] = b"%06o\x00 " % (sum(data[header:header + 148]) + 256
                                                           + sum(data[header + 156:header + 512]))
    reader = TarReader(io.BufferedReader(io.BytesIO(bytes(data))))  # type: ignore[arg-type]
    reader.skip, reader.skip_until = re.compile(rb"sosreport-host/sys/"), 10_000
    member = reader.next()
    assert member is not None and (member.name, member.size) == ("sosreport-host/version.txt", 512)
