"""The listening tests' widgets: setup dialogs, the ABX and MUSHRA pages, the trial window,
a neutral timeline, and the results panel. They show what they are given and say what
was done; app.window.listening runs the tests."""
