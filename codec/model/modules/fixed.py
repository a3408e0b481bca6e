"""Sizes of a fixed-shape streaming step (docs/mimi.md, "Fixed-shape streaming step").

A fixed-shape step keeps every streaming state in buffers allocated once and updated in
place, and runs the same ops on the same shapes every call: what a CUDA graph needs to
replay it. Modules make such states with `init_state(fixed)`; `None` gives the usual
states, which grow and are replaced as they go.
"""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class FixedShape:
    """batch: B; steps: transformer steps per call (2 per Mimi frame); device and dtype."""

    batch: int
    steps: int
    device: torch.device
    dtype: torch.dtype = torch.float32


def reset_states(state: object) -> None:
    """Put fixed-shape states back to their start, in place (lists and dataclasses walked)."""
    if state is None:
        return
    if isinstance(state, (list, tuple)):
        for s in state:
            reset_states(s)
    elif dataclasses.is_dataclass(state):
        for f in dataclasses.fields(state):
            reset_states(getattr(state, f.name))
    elif hasattr(state, "reset_"):
        state.reset_()
    else:
        raise TypeError(f"not a fixed-shape state: {type(state).__name__}")
