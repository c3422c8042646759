"""Diagnostics stage (rules/diagnostics.smk): quirkiness a, b and per-example log-odds
(`stage.py`), its settings (`settings.py`) and the acceptance rule (`acceptance.py`)."""
