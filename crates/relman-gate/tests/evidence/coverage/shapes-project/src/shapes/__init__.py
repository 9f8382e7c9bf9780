"""A tiny package measured by coverage.py to produce relman's test evidence."""
