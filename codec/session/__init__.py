"""A comparison and the operations on it that the window, the command line and the report
share (open, encode, decode at K, measure, export), with the long-file policy."""

from .comparison import Comparison, Measurement
from .policy import DEFAULT_POLICY, SWEEP_KS, LongFilePolicy, report_ks, sweep_ks

__all__ = [
    "DEFAULT_POLICY",
    "SWEEP_KS",
    "Comparison",
    "LongFilePolicy",
    "Measurement",
    "report_ks",
    "sweep_ks",
]
