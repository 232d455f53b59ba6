"""One error family, so callers can catch everything costlib refuses with one ``except``."""


class CostlibError(Exception):
    """Base of every error costlib raises on bad input; the message is one line for a person."""


class BillError(CostlibError, ValueError):
    """The billing file cannot be read or does not hold what a billing file must."""


class BillNotFoundError(CostlibError, FileNotFoundError):
    """The billing file (local path or S3 key) does not exist or may not be read."""


class OptionError(CostlibError, ValueError):
    """An option's value is wrong: an unknown time zone, a window ending before it starts."""
