"""Shared plumbing every stage uses: artifacts (store, tables, atomic writes, integrity),
logs and errors, registries, seeding, prompts and names, MAD roles, layer resolution, the
path → rule layout. Imports no stage (docs/architecture.md)."""
