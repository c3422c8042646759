"""LoRA fine-tuning of a base model on one quirky dataset.

`FinetuneSettings` (torch-free) loads eagerly; `finetune` loads torch and peft on first use, so
the config check and the rules can build the settings without them.
"""

from quirkymad.finetune.records import select_balanced
from quirkymad.finetune.settings import FinetuneSettings

__all__ = ["FinetuneSettings", "finetune", "select_balanced"]


def __getattr__(name: str):
    if name == "finetune":
        from quirkymad.finetune.lora import finetune

        return finetune
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
