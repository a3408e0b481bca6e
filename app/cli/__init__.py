"""Commands that need the app's real-time audio (PortAudio) but no window: `main.py live`."""
