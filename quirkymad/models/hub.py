"""The paper's models, loaded offline from a local directory or the Hugging Face cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from quirkymad.core.errors import QuirkyError
from quirkymad.models.base import ModelFacts, ModelSource, register_model


class OfflineHubModel(ModelSource):
    """A Hugging Face model that must already be on disk (`HF_HUB_OFFLINE=1`).

    Looked up in `settings["path"]` if given, else in the local HF cache. Never downloads.
    """

    hf_id: ClassVar[str]

    def _resolve(self) -> Path:
        how = (
            f"download it on a machine with network access (`hf download {self.hf_id}`) and "
            f"copy the cache, or set `models: {{{self.name}: {{path: /dir/with/config.json}}}}`"
        )
        if self.settings.get("path"):
            path = Path(os.path.expanduser(self.settings["path"]))
            if not (path / "config.json").is_file():
                raise QuirkyError(
                    f"model {self.name} ({self.hf_id}): models.{self.name}.path={path} has no "
                    f"config.json; {how}"
                )
            return path
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(self.hf_id, local_files_only=True))
        except Exception as exc:  # the hub client raises several types for "not cached"
            raise QuirkyError(
                f"model {self.name} ({self.hf_id}) is not available offline; {how}"
            ) from exc

    def check(self) -> None:
        self._resolve()

    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self._resolve())

    def materialise(self, out_dir: Path) -> dict[str, Any]:
        return {"weights": self._resolve(), "hf_id": self.hf_id}


@register_model
class Mistral7B(OfflineHubModel):
    name = "mistral-7b"
    description = "Mistral-7B-v0.1 (32 layers, d=4096), local weights"
    hf_id = "mistralai/Mistral-7B-v0.1"
    # LoRA fine-tuning of a 7-8B model in bf16 needs ~40 GB of GPU memory.
    known_facts = ModelFacts(
        32, 4096, 32, n_kv_heads=8, d_ff=14336, vocab=32000, tied=False,
        finetune_min=24 * 60, extract_min=4 * 60,
    )  # fmt: skip


@register_model
class Llama31_8B(OfflineHubModel):
    name = "llama-3.1-8b"
    description = "Llama-3.1-8B (32 layers, d=4096), local weights"
    hf_id = "meta-llama/Llama-3.1-8B"
    known_facts = ModelFacts(
        32, 4096, 32, n_kv_heads=8, d_ff=14336, vocab=128256, tied=False,
        finetune_min=24 * 60, extract_min=4 * 60,
    )  # fmt: skip
