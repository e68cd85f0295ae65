"""ostlab: the ostriage incident lab. python3 -m ostlab {install,up,scenario,collect,down,clean,status,listeners}."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .shell import LabError, log


def cmd_up(allow_host_upgrades: bool = False) -> None:
    from . import container, controller, image, safety
    start = time.monotonic()
    built = image.build(allow_host_upgrades)
    plan = container.found_plan()
    if plan == "clean":
        # An interrupted run's overlay may hold a database another neutron release migrated: reusing it
        # is how `upgrade heads` died on "Duplicate column name". A lab whose systemd is gone cannot be
        # resumed anyway, so nothing of it is kept.
        log("a previous lab was left half-up (its systemd is gone); tearing it down first")
        container.shutdown()
        safety.assert_nothing_left()
    if plan != "reuse":
        container._mount_overlay()
    # Also over a running lab: a scenario's files (mac-binding's neutron.conf naming its release's own
    # database, its ExecStart drop-in) must not reach the db-manage of setup_services.
    controller.lay_files()
    booted = container.boot()
    services = controller.setup_services()
    log(f"lab up in {time.monotonic() - start:.0f}s (image {built:.0f}s, boot {booted:.0f}s, services {services:.0f}s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ostlab", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    upgrades = argparse.ArgumentParser(add_help=False)
    upgrades.add_argument("--allow-host-upgrades", action="store_true",
                          help="let apt upgrade installed host packages if adding systemd-container or debootstrap "
                               "needs it (without it, ostlab stops and lists them)")
    sub.add_parser("install", parents=[upgrades],
                   help="build the cached images: the controller's (host packages, debootstrap, venv) "
                   "and the Kolla-style neutron-server container's")
    sub.add_parser("up", parents=[upgrades], help="install if needed, boot the controller, prepare MariaDB/OVN/schema")
    sc = sub.add_parser("scenario", help="apply a named scenario and wait until it shows")
    sc.add_argument("name")
    co = sub.add_parser("collect", help="sosreport inside the controller + the kernel's OOM lines from the host")
    co.add_argument("name", help="bundle name (usually the scenario's)")
    co.add_argument("--out", help="directory to write the bundle to (default: the cache's bundles/)")
    co.add_argument("--small", action="store_true", help="prune large files no diagnosis reads (for examples/)")
    sub.add_parser("down", help="power off the controller and remove everything the lab made on the host")
    sub.add_parser("clean", help="down, then remove the whole cache (images, downloads, bundles, logs: 2-5 GiB)")
    hp = sub.add_parser("host-packages", parents=[upgrades],
                        help="install Debian packages on the host only if that upgrades nothing (.ci/run's python3-venv)")
    hp.add_argument("packages", nargs="+")
    sub.add_parser("status", help="is the lab up; neutron-server's state")
    sub.add_parser("listeners", help="fail if any lab process listens beyond 127.0.0.1")
    sub.add_parser("list", help="list scenarios")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install":
            from . import image, kolla_image
            start = time.monotonic()
            image.build(args.allow_host_upgrades)
            kolla_image.build()  # `up` leaves it to the first containerised scenario
            log(f"images ready in {time.monotonic() - start:.0f}s")
        elif args.cmd == "up":
            cmd_up(args.allow_host_upgrades)
        elif args.cmd == "scenario":
            from . import scenarios
            print(json.dumps(scenarios.apply(args.name), indent=1))
        elif args.cmd == "collect":
            from . import bundle
            print(bundle.collect(args.name, args.out, args.small))
        elif args.cmd == "down":
            from . import container
            container.shutdown()
            from . import safety
            safety.assert_nothing_left()
            log("lab down; nothing of it left running")
        elif args.cmd == "host-packages":
            from . import hostapt
            hostapt.install(args.packages, allow_upgrades=args.allow_host_upgrades)
        elif args.cmd == "clean":
            from . import cache
            cache.clean()
        elif args.cmd == "status":
            from . import container, scenarios
            if container.state() is None:
                print("down")
            else:
                container.leader()
                print(json.dumps({"up": True, "neutron-server": scenarios.show("neutron-server.service"),
                                  "api": scenarios.http_status("http://127.0.0.1:9696/v2.0/networks")}, indent=1))
        elif args.cmd == "listeners":
            from . import safety
            print("\n".join(safety.assert_loopback_only()))
        elif args.cmd == "list":
            from . import scenarios
            for s in scenarios.SCENARIOS.values():
                print(f"{s.name:22} {s.summary}")
    except LabError as exc:
        print(f"ostlab: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
