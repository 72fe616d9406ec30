"""Blocking work awaited from asyncio: one new thread per call, on the one transport.

The asyncio forms (``aio.py``, ``CancelScope.__aexit__``) run the blocking calls as they are
(the same requests, retries, rate gate and deadline scope) in a thread of their own, and the
awaiting task waits on an ``asyncio`` future. A thread of its own rather than the loop's
default executor (``asyncio.to_thread``): that pool has a few threads (``cpu_count() + 4``)
shared with the program's own blocking calls, so a cancel queued behind them would start
late, while its deadline runs. The threads are not daemons (the interpreter joins them at
exit); a call still running then is cut short by Python's refusal of new pool work at exit,
and reports its jobs as not settled.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["start", "wait_out"]

logger = logging.getLogger("qiskit_ionq_cancel")

T = TypeVar("T")


def start(work: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run ``work`` in a new thread, in a copy of the caller's context (its deadline scope
    and the ``cancel_on_exit`` scopes of its task); a future of the running loop that gets
    its result or exception."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: T | None, error: BaseException | None) -> None:  # on the loop
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]  # None only with an error

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = context.run(work)
        except BaseException as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop was closed meanwhile: nobody awaits it any more
            logger.debug("%s finished after its event loop was closed", name)

    threading.Thread(target=run, name=name).start()
    return future


async def wait_out(future: asyncio.Future[T]) -> asyncio.CancelledError | None:
    """Wait until ``future`` is done, shielded from the awaiting task's cancellation (the
    work goes on to its end); the ``CancelledError`` if the task was cancelled meanwhile,
    for the caller to raise once it has used the outcome."""
    cancelled: asyncio.CancelledError | None = None
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError as exc:
            if future.cancelled():
                raise
            cancelled = exc
        except BaseException:  # the work's own exception: the caller reads it off the future
            break
    return cancelled
