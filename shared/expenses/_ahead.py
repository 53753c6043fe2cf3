"""Reading one page ahead: BC's next page is read (the request and its JSON) in a background thread while
the run maps, sends and records the current one.

Why: a page's time is spent in turn in two other processes, Business Central (the read) and Storage (the
document markers, the sends, the cursor), and in this one; reading the next page meanwhile lets BC work
while Storage does. Measured in benchmarks/README.md ("Expense import").

The rules that keep "never twice, never lost":

- at most one page ahead: the next page is asked for only when the run has taken the current one, so at
  most two pages are in memory (the one being processed, the one being read): memory stays flat;
- pages come out in BC's order, one at a time; reading ahead records nothing: the run records each page as
  done (markers, cursor) itself, after sending it, in order. A page read ahead and never taken (the time
  budget ran out, or a page before it failed) is dropped, and the next run reads it again from the cursor;
- a failed read is raised when the run takes that page, not earlier: the pages before it are sent and
  recorded first, as without reading ahead;
- `close()` waits for a read in flight, so no BC request of a run outlives it (the run releases its lease
  after closing).
"""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, Iterator, TypeVar

__all__ = ["ReadAhead"]

_Page = TypeVar("_Page")
_END = object()


class ReadAhead(Generic[_Page]):
    """An iterator over `pages` that reads the next page while the caller works on the one it took.

        with ReadAhead(document_pages(...)) as pages:
            for page in pages: ...
    """

    def __init__(self, pages: Iterator[_Page]) -> None:
        self._pages = pages
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expense-read-ahead")
        self._pending: Future[object] | None = None
        self._ended = False

    def __iter__(self) -> "ReadAhead[_Page]":
        return self

    def __next__(self) -> _Page:
        if self._ended:
            raise StopIteration
        pending, self._pending = self._pending or self._read(), None
        page = pending.result()  # re-raises the read's failure
        if page is _END:
            self._ended = True
            raise StopIteration
        self._pending = self._read()  # the next page, while the caller processes this one
        return page  # type: ignore[return-value] - everything but _END is a page

    def _read(self) -> "Future[object]":
        # The read logs under the run's fields (connector, operation): contextvars do not follow a thread.
        return self._pool.submit(contextvars.copy_context().run, next, self._pages, _END)

    def close(self) -> None:
        """Wait for a read in flight (its page is dropped, a failure of it too), then stop the thread."""
        pending, self._pending, self._ended = self._pending, None, True
        if pending is not None:
            pending.exception()  # waits; what it read or raised belongs to no page the run will process
        self._pool.shutdown(wait=True)
        close = getattr(self._pages, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "ReadAhead[_Page]":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
