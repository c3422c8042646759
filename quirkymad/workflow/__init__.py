"""Plan time, apart from run time: what a config asks the workflow to do, without torch.

`jobs.job_table(config)` is the one enumeration of the DAG's jobs; `rules/common.smk` (its
target lists and the collect jobs' inputs), the cost planner (`quirkymad plan`) and the
tests read it (docs/architecture.md)."""
