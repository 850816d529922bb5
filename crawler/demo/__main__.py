"""Run the demo marketplace in the foreground: python -m crawler.demo --port 8088."""

import argparse
import signal
import sys

from crawler.demo import DemoMarketplace
from crawler.demo.faults import ALL, Faults


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.demo", description="Serve the demo marketplace.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088, help="0 picks a free port")
    parser.add_argument("--day", type=int, default=1, help="2 = some gigs edited, removed and relisted")
    parser.add_argument("--faults", help="comma-separated fault switches, or 'all': " + ", ".join(ALL))
    parser.add_argument("--scale", type=int, default=1, help="serve the catalog replicated this many times")
    args = parser.parse_args(argv)
    faults = Faults.parse(args.faults) if args.faults else None
    demo = DemoMarketplace(host=args.host, port=args.port, day=args.day, faults=faults, scale=args.scale)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    demo.start()
    truth = demo.truth
    print(f"Demo marketplace at {demo.base_url} ({len(demo.catalog.gigs)} gigs, {len(truth.all_sellers)} sellers, "
          f"{len(truth.review_sellers)} review sellers). Ctrl-C stops.", flush=True)
    for gig_id, kind in sorted((faults.faulted_gigs() if faults else {}).items()):
        print(f"fault {kind}: gig {gig_id}", flush=True)
    try:
        demo.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
