"""NaN/inf (e.g. float16 overflow) is reported with its layer and example, never stored."""

import numpy as np
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import to_storage_dtype

LAYERS = [1, 4, 7]
IDS = ["ex-a", "ex-b"]


def test_nan_is_reported_with_layer_and_example():
    x = np.zeros((2, 3, 5), dtype=np.float32)
    x[1, 2, 3] = np.nan
    with pytest.raises(
        QuirkyError, match=r"activations: 1 non-finite values, first at layer 7, example 'ex-b'"
    ):
        to_storage_dtype(x, "float32", "activations", LAYERS, IDS)


def test_float16_overflow_is_reported():
    x = np.ones((2, 3, 5), dtype=np.float32)
    x[0, 1, 0] = 1e6  # beyond float16's 65504
    assert to_storage_dtype(x, "float32", "activations", LAYERS, IDS).dtype == np.float32
    with pytest.raises(QuirkyError, match=r"\(as float16\).*layer 4, example 'ex-a'"):
        to_storage_dtype(x, "float16", "activations", LAYERS, IDS)
