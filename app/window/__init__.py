"""The main window and its controllers (they own the state; the window shows it)."""
