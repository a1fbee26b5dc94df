"""The root of every error a user of vaeport can cause.

Each layer raises its own subclasses, which also derive from ``ValueError`` (bad input)
or ``RuntimeError`` (model, data, provider), so callers can catch either the vaeport
base or the builtin they already expect. The command line turns them into one clear
message and a non-zero exit instead of a traceback.
"""


class VaeportError(Exception):
    """Base class of the errors vaeport raises on purpose."""
