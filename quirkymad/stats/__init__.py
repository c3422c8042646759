"""Name-aware statistics for AUROCs: clustered bootstrap intervals, the name-relabelling
permutation test, paired comparisons (issue 18; docs/statistics.md)."""
