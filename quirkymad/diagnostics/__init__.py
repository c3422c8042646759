"""Diagnostics stage (rules/diagnostics.smk): quirkiness a, b and per-example log-odds
(`stage.py`) and its settings (`settings.py`); the acceptance rule it reads is the fine-tune's
(`quirkymad/finetune/acceptance.py`)."""
