"""quirkymad: mechanistic anomaly detection for quirky language models.

The library behind the Snakemake workflow. Every stage is a plain function over typed
arguments; the workflow scripts only unpack Snakemake's object and call one of them.
"""

__version__ = "0.1.0"
