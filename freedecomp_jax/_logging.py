"""Progress messages through the standard `logging` module, silent unless asked for.

Everything freedecomp_jax reports goes to the logger named `"freedecomp_jax"` (children:
`"freedecomp_jax.cli"`, ...). As a library it only attaches a `NullHandler`, so nothing is
printed unless the application configures logging (`logging.basicConfig(level=logging.INFO)`)
or calls [`log_to_stderr`][]; the command line does the latter (INFO, `--verbose`: DEBUG).
"""

import contextlib
import logging
import sys
from collections.abc import Iterator

LOGGER_NAME = "freedecomp_jax"
"""Name of the package's logger."""

logger = logging.getLogger(LOGGER_NAME)
logger.addHandler(logging.NullHandler())


def get_logger(name: str | None = None) -> logging.Logger:
    """The package logger, or its child `freedecomp_jax.<name>`."""
    return logger if not name else logger.getChild(name)


@contextlib.contextmanager
def log_to_stderr(level: int | str = logging.INFO, stream=None) -> Iterator[logging.Handler]:
    """Print the package's log records at `level` or above to `stream` (default `sys.stderr`) inside the block.

    The handler and the previous level are removed/restored on exit, so nested or repeated
    calls (e.g. the command line run in-process by tests) do not pile up handlers.
    """
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # the application's root handlers would print every line twice
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
