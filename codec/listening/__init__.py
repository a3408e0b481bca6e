"""Blind listening tests (ABX and MUSHRA) and their statistics; no Qt.

conditions  what is compared, by name (reference, anchor35, anchor70, K<k>, ...)
stimuli     an excerpt in every condition: decodes, BS.1534-3 anchors, loudness matching
objective   the app's metrics (STOI, log-mel, loudness, PESQ) of each stimulus
session     a test on disk: design, seeded plan, answers saved as they are given, resume
results     our results CSV, and reading any mix of ours and webMUSHRA's
stats       MUSHRA post-screening and confidence intervals, ABX binomial p-values
webmushra   export a MUSHRA test for webMUSHRA; read its results
"""
