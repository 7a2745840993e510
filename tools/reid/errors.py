"""Errors a user can act on. Every message says what went wrong, with which input, and
what to do next; surfaces show ``str(error)`` as it is.

Hierarchy::

    ReIDError
    ├── InvalidInput          the request itself is wrong (API code 0001)
    │   ├── MediaError        footage that cannot be decoded, or breaks a limit
    │   ├── ReferencePhotoError  a person's photo is not usable (names the person)
    │   ├── FetchError        a URL could not be fetched or is not allowed
    │   ├── ClusterUnavailable  the configured Dask cluster cannot be used
    │   ├── MissingExtra      the feature asked for needs an extra that is not installed
    │   └── StorageError      a database file or data folder that cannot be used (at start-up)
    └── EngineError           our fault: the analysis failed on valid input
"""

from __future__ import annotations


class ReIDError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidInput(ReIDError):
    """The request cannot be served as given; the message says which field and why."""


class MediaError(InvalidInput):
    """The footage is corrupt, truncated, empty, not media, or over a configured limit."""


class ReferencePhotoError(InvalidInput):
    """A reference photo shows no face, several faces, or is not an image."""

    def __init__(self, person: str, problem: str) -> None:
        self.person = person
        self.problem = problem
        super().__init__(f"Reference photo for {person}: {problem}")


class FetchError(InvalidInput):
    """A URL could not be fetched: unreachable, refused by policy, too large or too slow."""


class ClusterUnavailable(InvalidInput):
    """The Dask cluster named by ``REID_CLUSTER``/``--cluster`` is unreachable, has no workers,
    or runs another version of the project. The fix is in the setup, not in the engine, so it
    is bad input to the CLI (exit 2); the service keeps its tasks queued until it is fixed."""


class MissingExtra(InvalidInput, ImportError):
    """A surface or engine option needs packages of an extra (``reid-footage[service]``...) that
    are not installed; the message gives the pip command. Also an `ImportError`, so code that
    imports an optional surface inside ``try/except ImportError`` keeps working."""

    def __init__(self, extra: str, feature: str) -> None:
        self.extra = extra
        super().__init__(f'{feature} needs the "{extra}" extra: pip install "reid-footage[{extra}]"')


class StorageError(InvalidInput):
    """The database file or a data folder cannot be used: it cannot be created or written, is
    not a database, is damaged or is locked. The message names the file, says what is wrong and
    what to do; the fix is in the setup, so `reid serve` and `reid bot` exit 2 with it."""


class EngineError(ReIDError):
    """The engine failed on input that looked valid; retrying or reporting it is the fix."""
