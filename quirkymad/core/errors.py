"""One exception type for problems a user can fix (bad config, missing asset, corrupt store)."""


class QuirkyError(RuntimeError):
    """A user-facing error whose message is one line naming the key, path or package."""
