"""Follow-up analyses computed from feature stores and score tables."""
