"""Running calls at the same moment, for the PostgreSQL concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def at_once(calls: Sequence[Callable[[], T]], *, timeout: float = 60) -> list[T | BaseException]:
    """Run each call in its own thread (so on its own database connection), all released
    together by a barrier; each call's result, or the exception it raised, in call order.

    Every thread closes its connections, so a test leaves none open on the shared server.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [TimeoutError("did not finish")] * len(calls)

    def run(position: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[position] = call()
        except BaseException as exc:
            outcomes[position] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


def failures(outcomes: Sequence[object]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]
