"""Real-time audio, no Qt: the device boundary, the player, the recorder, the live engine.
Stream callbacks only copy data in and out."""
