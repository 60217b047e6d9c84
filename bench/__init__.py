"""Side-by-side benchmark: our runnable vs the legacy runnable vs raw SDK streaming.

``python -m bench`` (``make bench``) runs every scenario against one bundled server and
writes ``bench/RESULTS.md``. See :mod:`bench.__main__` for the options.
"""

import warnings

# Every Assistants call of the SDK warns that the API is deprecated; the bench knows.
warnings.filterwarnings("ignore", category=DeprecationWarning)
