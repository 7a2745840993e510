"""``python -m tools.reid.service [--host H] [--port P]``: the service with settings from ``REID_*``.

The same as ``reid serve``; tests and benchmarks start it this way to run it in its own process.
"""

from __future__ import annotations

import argparse
import sys

from tools.reid.errors import InvalidInput
from tools.reid.service.app import serve
from tools.reid.settings import ReIDSettings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reid.service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port (logged at start-up)")
    args = parser.parse_args()
    try:
        serve(args.host, args.port, ReIDSettings())
    except InvalidInput as exc:
        print(f"reid service: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
