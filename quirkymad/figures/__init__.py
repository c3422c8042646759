"""Figures: one function per figure, tables in, PNG + PDF out."""
