"""Mimi Explorer's Qt side: windows, widgets, worker threads, audio devices."""
