"""Sample contest submissions that tests/test_grade.py grades; see make.py."""
