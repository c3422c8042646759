"""Scoring stage (rules/detect.smk, combinations.smk, sweeps.smk): fit detectors on a feature
store's trusted records and score the test mix (`stage.py`), layer and feature combinations
(`combinations.py`), sweep points (`sweeps.py`)."""
