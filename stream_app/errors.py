"""Errors a person sees: one line saying what failed, where, and what to do next."""


class UserError(Exception):
    """A problem the user can fix (configuration, a missing tool, a busy port).

    The CLI prints ``str(error)`` alone, never a traceback.
    """
