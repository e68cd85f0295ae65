"""Build the hostile-bundle corpus: sosreports (directories and tarballs) that attack the reader.

Every bundle is made here, at test time, from the recorded incident (``examples/seed-incident``): nothing
binary is committed. Each is the incident's essential files plus one attack: links that leave the report
or loop, FIFOs, devices and sockets where files should be, files of nothing but binary garbage, NULs,
invalid UTF-8, huge lines, truncated or corrupt compressed logs, thousands of files or drop-ins, absurd
numbers and dates, deep nesting; and tarballs with path traversal, links and hardlinks out, special
members, truncation, corruption, giant headers, nested archives.

    python tests/hostile/build_corpus.py DIR [NAME ...]    # build them to look at, or to run ostriage on

``tests/hostile/test_corpus.py`` runs ostriage on each: it must finish, never with a traceback or an internal
error, and say what it could not read.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import random
import shutil
import socket
import stat
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-incident"

#: the files of the incident ostriage reads: the base every bundle attacks
ESSENTIAL = (
    "version.txt", "date", "hostname", "uptime", "free", "ps", "netstat", "lsof", "installed-debs",
    "proc/meminfo", "sos_commands/date", "sos_commands/host", "sos_commands/kernel/dmesg",
    "sos_commands/logs/journalctl_--no-pager", "sos_commands/systemd/systemctl_show_service_--all",
    "sos_commands/systemd/timedatectl", "sos_commands/process/ps_auxwwwm", "sos_commands/openvswitch",
    "sos_commands/networking/netstat_-W_-neopa", "sos_commands/memory", "sos_commands/dpkg",
    "etc/neutron", "etc/nova", "etc/systemd/system/neutron-server.service.d",
    "usr/lib/systemd/system/neutron-server.service", "var/log/neutron", "var/log/nova",
)
CONF = "etc/neutron/neutron.conf"
ML2 = "etc/neutron/plugins/ml2/ml2_conf.ini"
SERVER_LOG = "var/log/neutron/neutron-server.log"
DMESG = "sos_commands/kernel/dmesg"
JOURNAL = "sos_commands/logs/journalctl_--no-pager"
SHOW = "sos_commands/systemd/systemctl_show_service_--all"
TOP = "sosreport-corpus-2026"
NOT_A_FILE = "expected a file with a command's output; not a regular file"


@dataclass(frozen=True)
class Bundle:
    """One hostile bundle: how to make it, and what ostriage must say about it."""

    name: str
    make: Callable[[Path], Path]
    #: exit codes allowed (0-2 a diagnosis; 66 a target that is not a report at all)
    codes: tuple[int, ...] = (0, 1, 2)
    #: text that must appear among the problems ("could not read") of the diagnosis, or in the error
    says: tuple[str, ...] = ()
    #: findings the diagnosis must still make: the incident's evidence the attack left alone still counts
    finds: tuple[str, ...] = ("NEU001",)
    #: what it needs to be built (a device node needs root)
    needs_root: bool = False
    #: absolute paths that must not exist afterwards (what a traversal out of /tmp would write)
    must_not_exist: tuple[str, ...] = field(default=())


def base(dest: Path) -> Path:
    """The incident's essential files, copied (the attack then edits the copy only)."""
    for rel in ESSENTIAL:
        src = SEED / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=True, dirs_exist_ok=True)
        elif src.exists() or src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)
    return dest


def _replace(path: Path, data: bytes | str = b"") -> None:
    if path.is_symlink() or path.exists():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _garbage(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def directory(name: str, attack: Callable[[Path], object], **kw: object) -> Bundle:
    def make(where: Path) -> Path:
        root = base(where / name)
        attack(root)
        return root

    return Bundle(name, make, **kw)  # type: ignore[arg-type]


# -- attacks on a directory ---------------------------------------------------------------------------


def _fifo(rel: str) -> Callable[[Path], None]:
    def attack(root: Path) -> None:
        (root / rel).unlink()
        os.mkfifo(root / rel)

    return attack


def _device(rel: str, major: int, minor: int) -> Callable[[Path], None]:
    def attack(root: Path) -> None:
        (root / rel).unlink()
        os.mknod(root / rel, 0o644 | stat.S_IFCHR, os.makedev(major, minor))

    return attack


def _socket(rel: str) -> Callable[[Path], None]:
    def attack(root: Path) -> None:
        (root / rel).unlink()
        s = socket.socket(socket.AF_UNIX)
        cwd = os.getcwd()
        try:  # a socket path is limited to 107 bytes: bind relative to its directory
            os.chdir((root / rel).parent)
            s.bind((root / rel).name)
        finally:
            os.chdir(cwd)
            s.close()

    return attack


def _link(rel: str, target: str) -> Callable[[Path], None]:
    def attack(root: Path) -> None:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return attack


def _chain(root: Path) -> None:
    conf = root / CONF
    conf.rename(conf.with_name("link-60"))
    for n in range(60, 0, -1):
        (conf.parent / f"link-{n - 1}").symlink_to(f"link-{n}")
    conf.symlink_to("link-0")


def _deep(root: Path) -> None:
    here = root / "var/log/neutron"
    for _ in range(600):  # 1,200 characters of path: within PATH_MAX, far beyond any real tree
        here = here / "a"
    here.mkdir(parents=True)
    (here / "neutron-server.log").write_text("deep\n")


def _huge_line(root: Path) -> None:
    with open(root / SERVER_LOG, "ab") as f:
        f.write(b"2026-11-25 05:54:27.000 857 INFO neutron.x [-] " + b"A" * (24 << 20))  # no newline, 24 MiB


def _many_long_lines(root: Path) -> None:
    with open(root / DMESG, "ab") as f:
        for n in range(150):
            f.write(f"[ 6400.{n:06d}] ".encode() + b"x" * 200_000 + b"\n")


def _binary_logs(root: Path) -> None:
    for n, rel in enumerate((SERVER_LOG, "var/log/nova/nova-api.log", DMESG, JOURNAL, SHOW, "ps")):
        _replace(root / rel, _garbage(300_000, n))


def _nul_config(root: Path) -> None:
    for rel in (CONF, ML2):
        text = (root / rel).read_bytes()
        _replace(root / rel, text.replace(b"\n", b"\x00\n", 7).replace(b" = ", b" =\x00 ", 3))


def _latin1(root: Path) -> None:
    for rel in (CONF, ML2, SERVER_LOG, JOURNAL):
        data = (root / rel).read_bytes()
        _replace(root / rel, data.replace(b"neutron", "neutrön".encode("latin-1")).replace(b"=", b"=\xff\xfe", 5))


def _empty(root: Path) -> None:
    for path in [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]:
        if path.name != "version.txt":
            _replace(path, b"")


def _blank(root: Path) -> None:
    for path in [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]:
        if path.name != "version.txt":
            _replace(path, b"\r\n\r\n\x0c\r\n \t\r\n\x0b\n\x1c\x1d\x1e\x85\n")


def _compressed(root: Path) -> None:
    log = (root / SERVER_LOG).read_bytes()
    gz = gzip.compress(log)
    _replace(root / f"{SERVER_LOG}.1.gz", gz[: len(gz) // 2])  # truncated
    xz = lzma.compress(log)
    _replace(root / f"{SERVER_LOG}.2.xz", xz[:40] + _garbage(4000, 7) + xz[4040:])  # corrupt in the middle
    _replace(root / f"{SERVER_LOG}.3.bz2", b"BZh9 this is not bzip2 at all\n")  # magic, then nonsense
    _replace(root / f"{SERVER_LOG}.4.gz", gzip.compress(_garbage(200_000, 3)))  # valid gzip of garbage
    _replace(root / "var/log/kern.log.1.gz", b"plain text named .gz\n")
    _replace(root / f"{SERVER_LOG}.5.gz", b"")  # empty


def _many_files(root: Path) -> None:
    d = root / "var/log/neutron"
    for n in range(3000):
        (d / f"neutron-server.log-2020{n:05d}").write_text(f"2020-01-01 00:00:00.000 1 INFO x [-] {n}\n")


def _weird_names(root: Path) -> None:
    d = root / "etc/neutron/neutron.conf.d"
    d.mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(["new\nline.conf", "esc\x1b[31mred.conf", "rtl\u202etxt.conf", "back\\slash.conf",
                              "x" * 250 + ".conf", " .conf", "-.conf", "\udcff.conf"]):
        try:
            (d / name).write_text(f"[DEFAULT]\ndebug = {n}\n")
        except (OSError, UnicodeEncodeError):
            continue
    (root / "var/log/neutron" / "neutron-server.log.\x1b]52;c;aGk=\x07").write_text("osc 52\n")


def _huge_values(root: Path) -> None:
    with open(root / ML2, "a") as f:
        f.write("\n[ml2_type_vxlan]\nvni_ranges = " + ",".join(f"{n}:{n}" for n in range(1, 150_000)) + "\n")
        f.write("[ml2_type_gre]\ntunnel_id_ranges = 1:" + "9" * 5000 + "\n")
        f.write("[DEFAULT]\nbind_port = 99999999999999999999999\napi_workers = -7\n")


def _many_sections(root: Path) -> None:
    with open(root / CONF, "a") as f:
        for n in range(5000):
            f.write(f"[section_{n}]\nkey = {n}\n")


def _many_dropins(root: Path) -> None:
    d = root / "etc/systemd/system/neutron-server.service.d"
    for n in range(800):
        (d / f"{n:04d}-x.conf").write_text(f"[Service]\nMemoryMax={n + 1}M\nOOMScoreAdjust={-n}\nRestartSec={n}s\n")


def _oom_storm(root: Path) -> None:
    lines = []
    for n in range(1000):
        big = 2**80 + n
        lines += [f"[ 7000.{n:06d}] uwsgi invoked oom-killer: gfp_mask=0xzz(GFP_KERNEL), order=-{n}, "
                  f"oom_score_adj={big}",
                  f"[ 7000.{n:06d}] memory: usage {big}kB, limit -{n}kB, failcnt {big}",
                  f"[ 7000.{n:06d}] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
                  f"[ 7000.{n:06d}] [{big}] 0 {big} 1 2 3 4 -99999999999 " + "n" * 4000,
                  f"[ 7000.{n:06d}] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
                  f"oom_memcg=/{'a/' * 300},task=x"]
        if n % 2:
            lines.append(f"[99999999999999.{n:06d}] Memory cgroup out of memory: Killed process {big} (\u202e) "
                         f"total-vm:{big}kB, anon-rss:{big}kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB "
                         f"oom_score_adj:-{big}")
    with open(root / DMESG, "a") as f:
        f.write("\n".join(lines) + "\n")


def _bad_dates(root: Path) -> None:
    with open(root / JOURNAL, "a") as f:
        for stamp in ("Feb 30 25:61:61", "Foo 12 10:00:00", "Dec 31 23:59:60"):
            f.write(f"{stamp} ostlab-controller systemd[1]: neutron-server.service: Main process exited, "
                    "code=killed, status=9/KILL\n")
        for stamp in ("0000-01-01T00:00:00+0000", "10000-01-01T00:00:00+0000", "2026-02-29T00:00:00+9999",
                      "2026-13-01T00:00:00.9999999999+0000"):
            f.write(f"{stamp} ostlab-controller systemd[1]: neutron-server.service: Scheduled restart job, "
                    "restart counter is at 99999999999999999999.\n")


def _bad_show(root: Path) -> None:
    with open(root / SHOW, "a") as f:
        f.write("\nId=neutron-server.service\nNRestarts=99999999999999999999999\nMainPID=-1\nActiveState\n"
                "MemoryMax=1e400\nRestartUSec=99999999999999999999min\nExecMainStartTimestamp=Fri 9999-12-31 "
                "23:59:59 UTC\nId=neutron-server.service\nLoadState=\x00\n\n=\n==\nId=\n")


def _bad_ps(root: Path) -> None:
    with open(root / "ps", "a") as f:
        f.write("root\nroot 99999999999999999999 -1 nan 1e400 -5 ? S 05:50 0:00\n"
                "neutron \u00b2\u00b3 0.0 0.0 1 1 ? S 99:99 0:00 /usr/bin/python3 /usr/bin/neutron-server "
                "--config-file --config-dir\n" + "x " * 5000 + "\n")


def _date(text: str, uptime: str) -> Callable[[Path], None]:
    def attack(root: Path) -> None:
        for rel in ("date", "sos_commands/date/date"):
            _replace(root / rel, text)
        _replace(root / "sos_commands/date/date_--utc", text)
        for rel in ("uptime", "sos_commands/host/uptime"):
            _replace(root / rel, uptime)

    return attack


def _version_garbage(root: Path) -> None:
    _replace(root / "version.txt", _garbage(4096, 11))


DIRECTORIES = [
    directory("fifo-config", _fifo(CONF), says=("etc/neutron/neutron.conf: not a regular file (a fifo)",)),
    directory("fifo-log", _fifo(SERVER_LOG), says=(f"{SERVER_LOG}: not a regular file (a fifo)",)),
    directory("device-dmesg", _device(DMESG, 1, 5), says=(f"{DMESG}: {NOT_A_FILE}",), needs_root=True),
    directory("device-ps", _device("ps", 1, 9), needs_root=True),
    directory("socket-journal", _socket(JOURNAL), says=(f"{JOURNAL}: {NOT_A_FILE}",)),
    directory("directory-config", lambda r: ((r / CONF).unlink(), (r / CONF).mkdir()),
              says=("etc/neutron/neutron.conf: not a regular file (a directory)",)),
    directory("symlink-loop", _link(CONF, "neutron.conf"), says=("etc/neutron/neutron.conf: symlink loop",)),
    directory("symlink-chain", _chain, says=("etc/neutron/neutron.conf: symlink loop",)),
    directory("symlink-absolute", _link(CONF, "/etc/shadow")),
    directory("symlink-out", _link(CONF, "../../../../../../../../etc/shadow"),
              says=("leads outside the collected files; not followed",)),
    directory("symlink-dir-out", _link("var/log/neutron", "../../../../../../../var/log"),
              says=("var/log/neutron: symlink to '../../../../../../../var/log' leads outside",)),
    directory("deep-nesting", _deep),
    directory("huge-line", _huge_line, says=(f"{SERVER_LOG}: line 2",)),
    directory("many-long-lines", _many_long_lines, says=(f"{DMESG}: line",)),
    directory("binary-logs", _binary_logs),
    directory("nul-config", _nul_config),
    directory("invalid-utf8", _latin1),
    directory("empty-files", _empty, finds=()),
    directory("blank-files", _blank, finds=()),
    directory("broken-compression", _compressed,
              says=(f"{SERVER_LOG}.1.gz: unreadable", f"{SERVER_LOG}.2.xz: unreadable")),
    directory("many-rotations", _many_files),
    directory("weird-names", _weird_names),
    directory("huge-values", _huge_values),
    directory("many-sections", _many_sections),
    directory("many-dropins", _many_dropins),
    directory("oom-storm", _oom_storm),
    directory("bad-dates", _bad_dates),
    directory("bad-systemctl-show", _bad_show),
    directory("bad-ps", _bad_ps),
    directory("date-9999", _date("Fri Dec 31 23:59:59 UTC 9999\n", " 23:59:59 up 99999999 days,  1 user\n")),
    directory("date-year-1", _date("Mon Jan  1 00:00:00 UTC 1\n", "99999999999999999999 0\n")),
    directory("version-garbage", _version_garbage),
]


# -- tarballs -----------------------------------------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "",
         size: int | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.size = len(data) if size is None and kind == tarfile.REGTYPE else (size or 0)
    tar.addfile(info, io.BytesIO(data) if info.size else None)


def _base_members(tar: tarfile.TarFile, where: Path) -> None:
    root = base(where / "base")
    tar.add(root, arcname=TOP)
    shutil.rmtree(root)


def tarball(name: str, members: Callable[[tarfile.TarFile, Path], object], mode: str = "w:gz",
            after: Callable[[bytes], bytes] = lambda b: b, **kw: object) -> Bundle:
    suffix = {"w:gz": ".tar.gz", "w:xz": ".tar.xz", "w:bz2": ".tar.bz2", "w": ".tar"}[mode]

    def make(where: Path) -> Path:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tar:  # type: ignore[call-overload]
            members(tar, where)
        path = where / f"{name}{suffix}"
        path.write_bytes(after(buf.getvalue()))
        return path

    return Bundle(name, make, codes=kw.pop("codes", (0, 1, 2, 66)), **kw)  # type: ignore[arg-type]


def _traversal(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    for name in ("../corpus-evil", f"{TOP}/../../corpus-evil", f"{TOP}/etc/../../../corpus-evil",
                 "/tmp/ostriage-corpus-evil"):
        _add(tar, name, b"pwned\n")


def _links_out(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    _add(tar, f"{TOP}/etc/neutron/plugin.ini", kind=tarfile.SYMTYPE, link="/etc/shadow")
    _add(tar, f"{TOP}/var/log/neutron/x.log", kind=tarfile.SYMTYPE, link="../../../../../../etc/shadow")
    _add(tar, f"{TOP}/etc/neutron/hard", kind=tarfile.LNKTYPE, link="/etc/shadow")
    _add(tar, f"{TOP}/etc/neutron/hard2", kind=tarfile.LNKTYPE, link="../../etc/passwd")
    # a link then a file written through it
    _add(tar, f"{TOP}/etc/nova", kind=tarfile.SYMTYPE, link="../../../../../../tmp")
    _add(tar, f"{TOP}/etc/nova/ostriage-corpus-through-link", b"pwned\n")


def _special(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    for n, kind in enumerate((tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.CONTTYPE)):
        _add(tar, f"{TOP}/var/log/neutron/special-{n}.log", kind=kind)
    _add(tar, f"{TOP}/{DMESG}", kind=tarfile.CHRTYPE)


def _many_members(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    for n in range(3000):
        _add(tar, f"{TOP}/var/log/neutron/m/{n}.log", b"x\n")


def _long_names(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    _add(tar, f"{TOP}/var/log/neutron/" + "n" * 8000 + ".log", b"long\n")
    _add(tar, f"{TOP}/etc/neutron/" + "/".join(["d"] * 1500) + "/x.conf", b"[DEFAULT]\n")


def _declared_huge(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    info = tarfile.TarInfo(f"{TOP}/var/log/neutron/huge.log")
    info.size = 100 << 30
    tar.addfile(info)  # the header says 100 GiB, no data follows: the archive ends (tarfile writes no data)


def _duplicates(tar: tarfile.TarFile, where: Path) -> None:
    _base_members(tar, where)
    for n in range(300):
        _add(tar, f"{TOP}/{CONF}", f"[DEFAULT]\ndebug = {n}\n".encode())
        _add(tar, f"{TOP}/{CONF}", kind=tarfile.SYMTYPE, link="/etc/shadow")
        _add(tar, f"{TOP}/{CONF}", kind=tarfile.DIRTYPE)


def _top_link(tar: tarfile.TarFile, where: Path) -> None:
    _add(tar, TOP, kind=tarfile.SYMTYPE, link="/")
    _add(tar, f"{TOP}/version.txt", b"sosreport: 4.5.6\n")
    _add(tar, f"{TOP}/etc/ostriage-corpus-top-link", b"pwned\n")


def _nested(tar: tarfile.TarFile, where: Path) -> None:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        _base_members(t, where)
    _add(tar, "sosreport-inner.tar.gz", inner.getvalue())


def _cut(fraction: float) -> Callable[[bytes], bytes]:
    return lambda data: data[: int(len(data) * fraction)]


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 512]) + data[middle + 512:]


TARBALLS = [
    tarball("tar-traversal", _traversal, says=("absolute or '..' path; skipped",),
            must_not_exist=("/tmp/corpus-evil", "/corpus-evil", "/tmp/ostriage-corpus-evil")),
    tarball("tar-links-out", _links_out, says=("leads outside the report; skipped",),
            must_not_exist=("/tmp/ostriage-corpus-through-link",)),
    tarball("tar-special-members", _special),
    tarball("tar-truncated-xz", _base_members, mode="w:xz", after=_cut(0.5)),
    tarball("tar-truncated-early", _base_members, after=_cut(0.02)),
    tarball("tar-corrupt-middle", _base_members, after=_flip),
    tarball("tar-empty", lambda tar, where: None, after=lambda b: b""),
    tarball("tar-text", lambda tar, where: None, after=lambda b: b"this is not a tarball\n" * 100),
    tarball("tar-nested", _nested),
    tarball("tar-many-members", _many_members, mode="w"),
    tarball("tar-long-names", _long_names),
    tarball("tar-declared-huge", _declared_huge, mode="w"),
    tarball("tar-duplicates", _duplicates),
    tarball("tar-top-is-a-link", _top_link, must_not_exist=("/etc/ostriage-corpus-top-link",)),
]

CORPUS: list[Bundle] = [*DIRECTORIES, *TARBALLS]


def build(where: Path, names: list[str] | None = None) -> Iterator[tuple[Bundle, Path]]:
    """Build the bundles (all, or those named) under ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    for bundle in CORPUS:
        if names and bundle.name not in names:
            continue
        if bundle.needs_root and os.geteuid() != 0:
            continue
        yield bundle, bundle.make(where)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for bundle, path in build(Path(sys.argv[1]), sys.argv[2:]):
        print(f"{bundle.name:24} {path}")
