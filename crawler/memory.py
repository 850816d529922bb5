"""Peak memory of the crawl's processes: the crawl, its run's writer and its flag worker report their own."""

from __future__ import annotations


def peak_rss(pid: int | str = "self") -> int:
    """A live process's peak resident memory in bytes (0 where unknown: /proc is Linux's).

    Not getrusage: on Linux its maxrss carries over exec, so a child would report the peak of the crawl that
    started it; and a parent's figure for its children is the largest of them, not their sum."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return 0
