"""Building blocks of the Mimi model; each supports batch and explicit-state streaming."""
