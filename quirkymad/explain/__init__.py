"""Explaining anomaly scores (issue 21): exact per-component splits of decomposable
detectors' scores and a reading of the components that matter. docs/explain.md."""
