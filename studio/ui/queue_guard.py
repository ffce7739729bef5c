"""The model queue's bounds: how many model jobs may wait, and how many one session and one address may hold.

Gradio's own `max_size` counts every waiting event, the light ones too (Open, Save, the tab redraws),
so a queue full of model jobs refused them as well and one session could lock everyone out. Gradio's
bound is therefore off (`max_size=None`) and this guard stands in front of `Queue.push` instead:

- a model job (an event of the GPU concurrency id) is refused with gradio's "Queue is full" (HTTP
  503) when `max_waiting` model jobs already wait;
- a model job of a session that already has `jobs_per_session` model jobs, waiting or running, is
  refused with "you already have N jobs queued; wait or stop one" (HTTP 400, shown by the page);
- the session id is whatever the client sends, so a client could mint a new one for each job: a model
  job from a client address (the TCP peer, or what a trusted proxy forwards: uvicorn's
  FORWARDED_ALLOW_IPS) that already has `jobs_per_address` model jobs is refused the same way;
- an event without a session id is refused with one line (gradio would answer HTTP 500);
- light events are never counted against the model queue; they have a bound of their own
  (MAX_LIGHT_WAITING) so that a flood of them cannot hold the server's memory.

The counting reads the gradio queue's own lists (waiting events per concurrency id, running jobs),
under a lock, so two jobs a session sends at the same moment cannot both slip under its cap.
Written against gradio 6.31 (`Queue.push(body, request, username)`), the version this project pins.
"""

from __future__ import annotations

import asyncio
import logging
import os

from studio.errors import StudioError

logger = logging.getLogger(__name__)

DEFAULT_JOBS_PER_SESSION = 2
DEFAULT_JOBS_PER_ADDRESS = 4  # two tabs' worth: people behind one NAT still get in
NO_SESSION = "this request has no session id (session_hash); reload the page, or send the one your client made"
# Light events start at once (they have their own concurrency ids); this only bounds a flood of them.
MAX_LIGHT_WAITING = 512


def _limit(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    try:
        limit = int(raw) if raw else default
    except ValueError:
        limit = 0
    if limit < 1:
        raise StudioError(f"{variable} must be a whole number of at least 1, got {raw!r}")
    return limit


def jobs_per_session() -> int:
    """How many model jobs one session may have waiting or running ($STUDIO_JOBS_PER_SESSION, default 2)."""
    return _limit("STUDIO_JOBS_PER_SESSION", DEFAULT_JOBS_PER_SESSION)


def jobs_per_address() -> int:
    """How many model jobs one client address may have waiting or running ($STUDIO_JOBS_PER_ADDRESS, default 4)."""
    return _limit("STUDIO_JOBS_PER_ADDRESS", DEFAULT_JOBS_PER_ADDRESS)


def client_address(request) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


class QueueGuard:
    """Wraps one gradio queue's `push` with the studio's bounds (see the module's docstring)."""

    def __init__(self, queue, model_concurrency_id: str, max_waiting: int, jobs_per_session: int,
                 jobs_per_address: int = DEFAULT_JOBS_PER_ADDRESS):
        self.queue = queue
        self.model_concurrency_id = model_concurrency_id
        self.max_waiting = max_waiting
        self.jobs_per_session = jobs_per_session
        self.jobs_per_address = jobs_per_address
        self._gradio_push = queue.push
        self._lock: asyncio.Lock | None = None  # made in the server's event loop, on the first push

    def waiting(self, model: bool) -> int:
        """Events waiting (not yet running): the model queue's, or every other concurrency id's."""
        return sum(len(events.queue) for concurrency_id, events in self.queue.event_queue_per_concurrency_id.items()
                   if (concurrency_id == self.model_concurrency_id) == model)

    def _model_events(self) -> list:
        waiting = self.queue.event_queue_per_concurrency_id.get(self.model_concurrency_id)
        events = list(waiting.queue) if waiting is not None else []
        events += [event for job in self.queue.active_jobs if job for event in job]
        return [event for event in events if event.concurrency_id == self.model_concurrency_id]

    def session_jobs(self, session_hash: str | None) -> int:
        """The model jobs of one session, waiting or running."""
        return sum(1 for event in self._model_events() if event.session_hash == session_hash)

    def address_jobs(self, address: str | None) -> int:
        """The model jobs sent from one client address, waiting or running."""
        return sum(1 for event in self._model_events() if client_address(event.request) == address)

    def _fn(self, body):
        from gradio import route_utils

        try:
            return route_utils.get_fn(self.queue.blocks, None, body)
        except (KeyError, IndexError, LookupError, AttributeError):
            return None  # gradio's own push answers an unknown function

    async def push(self, body, request, username):
        if not body.session_hash:
            return False, NO_SESSION, "error"
        fn = self._fn(body)
        if fn is None or fn.concurrency_id != self.model_concurrency_id:
            if self.waiting(model=False) >= MAX_LIGHT_WAITING:
                return False, f"Queue is full. Max size is {MAX_LIGHT_WAITING} and size is {self.waiting(model=False)}.", \
                    "queue_full"
            return await self._gradio_push(body, request, username)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # the count and the push are one step: no two jobs pass on one free place
            waiting = self.waiting(model=True)
            if waiting >= self.max_waiting:
                return False, f"Queue is full. Max size is {self.max_waiting} and size is {waiting}.", "queue_full"
            held = self.session_jobs(body.session_hash)
            if held >= self.jobs_per_session:
                logger.info("refused a model job of a session that holds %d", held)
                return False, f"you already have {held} jobs queued; wait or stop one", "error"
            address = client_address(request)
            from_address = self.address_jobs(address)
            if address is not None and from_address >= self.jobs_per_address:
                logger.info("refused a model job from an address that holds %d", from_address)
                return False, f"your address already has {from_address} jobs queued; wait or stop one", "error"
            return await self._gradio_push(body, request, username)


def install(demo, model_concurrency_id: str, max_waiting: int, jobs_per_session: int,
            jobs_per_address: int = DEFAULT_JOBS_PER_ADDRESS) -> QueueGuard:
    """Put the guard in front of `demo`'s queue (after `demo.queue(max_size=None)`); returns it."""
    guard = QueueGuard(demo._queue, model_concurrency_id, max_waiting, jobs_per_session, jobs_per_address)
    demo._queue.push = guard.push
    return guard
