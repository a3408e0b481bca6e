"""Soak benchmark entry point: `python scripts/soak.py [--minutes 10] [--weights demo]`.

See app/soak.py: a live round trip at real time on a fake clocked device, reporting memory
growth after warm-up and input/output drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.soak import main

if __name__ == "__main__":
    sys.exit(main())
