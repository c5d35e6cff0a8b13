"""`python -m sim.aws` (from the repository root) or `python sim/aws` (from anywhere)."""
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a path: make `sim.aws` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim.aws.server import main  # noqa: E402

main()
