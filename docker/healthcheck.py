"""Docker HEALTHCHECK: exit 0 when the server answers 200 on ``/ready``, else 1.

Uses only the standard library (the images have no curl). The port is ``INFERENCE_PORT``
(default 8000): set that variable, rather than ``port`` in the YAML file, to move the port.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("INFERENCE_PORT", "8000")
    url = f"http://127.0.0.1:{port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
