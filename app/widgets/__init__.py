"""The window's widgets: views, panels, dialogs. They show what they are given."""
