"""``python -m idealnets.explore [--port N] [--no-browser] [--view NAME] [--time]``: serve the live explorer."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        print('the explorer needs Bokeh: pip install "idealnets[explore]" (or pip install "bokeh>=3.4")',
              file=sys.stderr)
        return 1
    from . import app
    from .views import VIEWS

    ap = argparse.ArgumentParser(prog="python -m idealnets.explore", description=__doc__.split(":", 1)[1].strip())
    ap.add_argument("--port", type=int, default=app.DEFAULT_PORT, help="port on localhost (default %(default)s)")
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser")
    ap.add_argument("--view", choices=list(VIEWS), help="open this view alone (default: all views as tabs)")
    ap.add_argument("--time", action="store_true",
                    help="print the median CPU time of one slider update per view and exit")
    args = ap.parse_args(argv)
    if args.time:
        for name, s in app.update_times([args.view] if args.view else None).items():
            print(f"{name:16s} {1e3 * s:8.1f} ms CPU per slider update (median of 10)")
        return 0
    app.serve(port=args.port, view=args.view, open_browser=not args.no_browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
