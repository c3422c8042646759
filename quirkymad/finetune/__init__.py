"""LoRA fine-tuning of a base model on one quirky dataset."""

from quirkymad.finetune.lora import FinetuneSettings, finetune, select_balanced

__all__ = ["FinetuneSettings", "finetune", "select_balanced"]
