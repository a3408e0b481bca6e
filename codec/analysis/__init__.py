"""Measuring what the codec did: metrics, spectrograms, token statistics, excerpts of long
signals, the streaming-versus-offline check, and levels of detail for drawing long
signals. numpy and torch only."""
