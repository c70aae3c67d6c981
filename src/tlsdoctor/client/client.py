"""The client: one request API over two stacks, with fallback, rollout, validation and reports.

    from tlsdoctor.client import Client

    with Client(state_dir=app_dirs.state, ca_bundle="ca-bundle.crt", rollout=rollout,
                reporter=reporter) as client:
        response = client.get("https://api.example.com/v1/items")

A request goes to the stack the rollout picked (or the one named), unless that stack is
marked broken for the origin. A transport failure is looked up in the fallback policy
(:mod:`.policy`); a fallback that succeeds marks the failed stack broken for that origin
(:mod:`.broken`), so the next request goes straight to the working stack: one extra
connection attempt on the first request, none after. Every failure, fallback, sampled
success and shadow validation becomes a ``tlsdoctor.report/1`` event; reports, listeners and
the state directory can never block or fail a request.

``timeout`` is the whole request's budget, the fallback attempt included: the second stack
gets what the first left, and connecting plus the TLS handshake get at most ``connect_timeout``
(10 s) of it on each stack, so a server that stalls the handshake ends as
``tls.handshake_timeout`` within ``timeout``.

A stack whose library cannot load (pycurl missing, libcurl broken: "Unable to load DLL
'libcurl'" was the field's first libcurl report) leaves the client working on the other one;
the loader's message is kept in :attr:`Client.unavailable`, counted and reported once as a
``failure`` whose ``outcome.stack_unavailable`` is true. Importing this module never imports
pycurl.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

from tlsdoctor.client.broken import BrokenOrigins
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.events import EventListener, SafeListener, phase_events
from tlsdoctor.client.policy import Action, decide
from tlsdoctor.client.origin import origin_of
from tlsdoctor.client.request_reports import (  # noqa: F401 - salted_install_id: its callers import it here
    BackgroundDiagnoses, environment_facts, pending_report, salted_install_id, unavailable_report,
)
from tlsdoctor.client.stack import CONNECT_TIMEOUT, Request, Response, Stack, load_stacks, make_request  # noqa: F401
from tlsdoctor.client.usage import UsageWriter
from tlsdoctor.client.validation import ShadowValidator

STACK_NAMES = ("curl", "native")
_monotonic = time.monotonic
# The headers of a request that has none: shared by cached Requests, so it must not change.
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_REQUEST_CACHE_SIZE = 256
# Below this much budget left, a fallback attempt could only time out: the first error stands.
_MIN_FALLBACK_BUDGET = 0.25


_OTHER_NAME = {"curl": "native", "native": "curl"}


class RolloutLike(Protocol):
    def stack(self) -> Any: ...  # a Cohort: .feature, .value, .rule


class ReporterLike(Protocol):
    def report(self, event: dict[str, Any]) -> bool: ...


class Client:
    def __init__(
        self,
        *,
        stack: str = "auto",
        ca_bundle: str | Path | None = None,
        proxy: str | None = None,
        state_dir: str | Path | None = None,
        rollout: RolloutLike | None = None,
        reporter: ReporterLike | None = None,
        listener: EventListener | None = None,
        validate_every: int = 100,
        sample_rate: float = 0.0,
        app_version: str = "0",
        install_id: str | None = None,
        trust_os_store: bool = True,
        timeout: float = 30.0,
        stacks: Mapping[str, Stack] | None = None,
        clock: Callable[[], float] = time.time,
        diagnose_failures: bool = False,
        usage: UsageWriter | None = None,
    ) -> None:
        if stack not in ("auto", *STACK_NAMES):
            raise ValueError(f"unknown stack {stack!r}: use auto, curl or native")
        self.stack_choice = stack
        # An explicit stack's decision never changes: made once (the cohort is copied for reports).
        self._fixed_choice: tuple[str, dict[str, Any] | None] | None = None
        if stack != "auto":
            self._fixed_choice = stack, {"feature": "http-stack", "value": stack, "rule": "explicit"}
        self._requests: dict[tuple[str, str, float], Request] = {}
        self._rollout_seen: tuple[Any, tuple[str, dict[str, Any] | None]] | None = None
        self.unavailable: dict[str, str] = {}  # stack name -> why its library did not load
        if stacks is None:
            stacks, self.unavailable = load_stacks(ca_bundle=ca_bundle, trust_os_store=trust_os_store, proxy=proxy)
        self.stacks: dict[str, Stack] = dict(stacks)
        self.state_dir = Path(state_dir) if state_dir else None
        self.broken = BrokenOrigins(self.state_dir / "broken-origins.json" if self.state_dir else None, clock)
        self.rollout = rollout
        self.reporter = reporter
        self.listener = listener or EventListener()
        self.validator = ShadowValidator(validate_every)
        self.sample_rate = sample_rate
        self.app_version = app_version
        self.install_id = install_id or self._install_id()
        self.proxy = proxy
        self.timeout = timeout
        # A failure report can carry a diagnosis's verdict instead of the first reading of
        # one error: diagnosis runs in the background, one at a time (others keep the reading).
        self.diagnose_failures = diagnose_failures
        self._diagnoses = BackgroundDiagnoses(ca_bundle=str(ca_bundle) if ca_bundle else None, proxy=proxy)
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self.attempts = 0  # connection attempts made, across stacks: the benchmark reads it
        # tlsdoctor.usage/1 counters (client/usage.py): the denominator of the reports.
        self.usage = usage
        if usage is not None:
            usage.bind(self)
        self._environment_cache: dict[str, Any] | None = None
        # Per-request work the profiler found: the other stack's name, and listener calls that
        # only the base class's no-ops would receive.
        self._others = {name: next((o for o in self.stacks if o != name), None) for name in self.stacks}
        self._update_quiet()
        for name, message in self.unavailable.items():
            self._report_unavailable(name, message)

    # -- the request API ----------------------------------------------------------------------

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                body: bytes | None = None, timeout: float | None = None) -> Response:
        return self._request(method, url, headers, body, timeout)

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None,
            timeout: float | None = None) -> Response:
        if headers is None and body is None and timeout is None:
            # The most common call, one Python frame above the stack (each frame is ~0.7 us
            # against nginx, bench/client_bench.py): a GET already seen, with the client's own
            # budget, to an explicit stack with nothing to do after a success. Else _request.
            request = self._gets.get(url)
            direct = self._direct
            if request is not None and direct is not None and not self.broken.marked:
                started = _monotonic()
                self.attempts += 1
                try:
                    return direct.send(request)
                except TransportError as error:
                    return self._failed(request, url, self._fixed_choice, error,  # type: ignore[arg-type]
                                        started + request.timeout)
        return self._request("GET", url, headers, body, timeout)

    def head(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Response:
        return self._request("HEAD", url, headers, None, timeout)

    def post(self, url: str, body: bytes, *, headers: Mapping[str, str] | None = None,
             timeout: float | None = None) -> Response:
        return self._request("POST", url, headers, body, timeout)

    def _request(self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None,
                 timeout: float | None) -> Response:
        # The hot path (bench/client_bench.py): what a successful request on a warm connection
        # pays above the stack is a cached Request, and a few attribute checks.
        budget = timeout or self.timeout
        started = _monotonic()
        if headers or body is not None:
            request = make_request(method.upper(), url, dict(headers) if headers else _NO_HEADERS, body, budget)
        else:
            request = self._remembered(method, url, timeout, budget)
        direct = self._direct
        if direct is not None and not self.broken.marked:
            # An explicit stack, no origin marked broken anywhere, and nothing to do after a
            # success (no listener, counters, samples or validation): send, and that is all.
            self.attempts += 1
            try:
                return direct.send(request)
            except TransportError as error:
                return self._failed(request, url, self._fixed_choice, error, started + budget)  # type: ignore[arg-type]
        return self._routed(request, url, started + budget)

    def _remembered(self, method: str, url: str, timeout: float | None, budget: float) -> Request:
        """The one Request for an identical request without headers or body.

        A Request is immutable, so the same one serves every identical request (and the stack
        recognises it as the one it is configured for already). A GET with the client's own
        budget, the common call, is kept by URL alone (what :meth:`get` looks up); the others by
        method, URL and budget. Bounded: cleared when full, for applications that call many
        distinct URLs; and the GETs whenever :attr:`timeout` changes."""
        if method == "GET" and timeout is None:
            cache: dict[Any, Request] = self._gets
            key: Any = url
        else:
            cache, key = self._requests, (method, url, budget)
        request = cache.get(key)
        if request is None:
            if len(cache) >= _REQUEST_CACHE_SIZE:
                cache.clear()
            request = cache[key] = make_request(method.upper(), url, _NO_HEADERS, None, budget)
        return request

    @property
    def timeout(self) -> float:
        """A request's whole budget (fallback included) when it does not give its own."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds
        self._gets: dict[str, Request] = {}  # they carry the old budget

    def _routed(self, request: Request, url: str, deadline: float) -> Response:
        """A request with routing or bookkeeping to do: a rollout's choice, broken marks,
        listener events, counters, samples or a shadow validation."""
        first, preferred, cohort = self._route(url)
        self.attempts += 1
        if self._listening:
            self._notify("request_start", request, first)
        try:
            response = self.stacks[first].send(request)
        except TransportError as error:
            return self._failed(request, url, (first, cohort), error, deadline)
        # The attempt worked: nothing below (state directory, counters, reports) may undo that.
        try:
            if self._listening:
                phase_events(SafeListener(self.listener), request, first, response.timings_ms)
                self._notify("response", request, response)
            if self.broken.marked and first == preferred:
                self.broken.clear(origin_of(url), first)
            if self.usage is not None:
                self.usage.record_request(first, None, None)
            if self.sample_rate > 0 or self.validator.every > 0:
                self._after_success(request, response, cohort)
        except Exception:  # noqa: BLE001 - bookkeeping never fails a request that worked
            pass
        return response

    def _failed(self, request: Request, url: str, choice: tuple[str, dict[str, Any] | None], error: TransportError,
                deadline: float) -> Response:
        self._notify("failure", request, error)
        return self._after_failure(request, origin_of(url), choice[0], error, choice[1], deadline)

    def _route(self, url: str) -> tuple[str, str, dict[str, Any] | None]:
        """(first stack, preferred stack, cohort): the rollout's choice, a stack that loaded, and
        the other stack where the preferred one is marked broken for this origin."""
        preferred, cohort = self._fixed_choice or self._choice()
        if preferred not in self.stacks:  # its library did not load on this machine
            preferred = next(iter(self.stacks))
        first = preferred
        if self.broken.marked:  # any mark at all; none is the common case
            other = self._others.get(preferred)
            origin = origin_of(url)
            if other is not None and self._is_broken(origin, preferred) and not self._is_broken(origin, other):
                first = other  # skip a stack known broken here: no second fallback
        return first, preferred, cohort

    # What a successful request must do besides returning: set at construction and kept current
    # by these properties' setters, so the hot path asks one attribute instead of four.
    @property
    def listener(self) -> EventListener:
        return self._listener

    @listener.setter
    def listener(self, listener: EventListener) -> None:
        self._listener = listener
        self._listening = type(listener) is not EventListener
        self._update_quiet()

    @property
    def usage(self) -> UsageWriter | None:
        return self._usage

    @usage.setter
    def usage(self, usage: UsageWriter | None) -> None:
        self._usage = usage
        self._update_quiet()

    @property
    def sample_rate(self) -> float:
        return self._sample_rate

    @sample_rate.setter
    def sample_rate(self, rate: float) -> None:
        self._sample_rate = rate
        self._update_quiet()

    def _update_quiet(self) -> None:
        """Keep :attr:`_direct`: the stack a request goes straight to, when the stack is explicit
        and loaded and a success has no bookkeeping at all (no listener, counters, samples or
        shadow validation); ``None`` sends every request through :meth:`_routed`."""
        quiet = (not getattr(self, "_listening", False) and getattr(self, "_usage", None) is None
                 and not getattr(self, "_sample_rate", 0.0) > 0)
        fixed, stacks, validator = getattr(self, "_fixed_choice", None), getattr(self, "stacks", {}), \
            getattr(self, "validator", None)
        self._direct = (stacks[fixed[0]] if quiet and fixed is not None and fixed[0] in stacks
                        and validator is not None and not validator.every else None)

    def choose_stack(self) -> tuple[str, dict[str, Any] | None]:
        """The stack for this install, and the cohort that decided it (for reports)."""
        name, cohort = self._fixed_choice or self._choice()
        return name, dict(cohort) if cohort is not None else None

    def _choice(self) -> tuple[str, dict[str, Any] | None]:
        """The rollout's decision, shaped once per cohort: the rollout answers with the same
        :class:`Cohort` object until its payload changes (it owns reloading and its interval),
        so the stack name and the report's cohort fields are kept beside that object. The dict
        is shared between requests and copied where it leaves the client (reports)."""
        if self.rollout is None:
            return "native", None
        cohort = self.rollout.stack()
        seen = self._rollout_seen
        if seen is not None and seen[0] is cohort:
            return seen[1]
        value = cohort.value if cohort.value in STACK_NAMES else "native"
        choice = value, {"feature": cohort.feature, "value": value, "rule": cohort.rule}
        self._rollout_seen = (cohort, choice)
        return choice

    def close(self) -> None:
        self.validator.wait_idle(timeout=10)
        if self.usage is not None:
            self.usage.close()
        for stack in self.stacks.values():
            stack.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------------

    def _other(self, name: str) -> str | None:
        return self._others.get(name)

    def _is_broken(self, origin: str, stack: str) -> bool:
        try:
            return self.broken.is_broken(origin, stack)
        except Exception:  # noqa: BLE001 - a state question never fails a request
            return False

    def _send(self, name: str, request: Request) -> Response:
        self.attempts += 1
        if self._listening:
            self._notify("request_start", request, name)
        try:
            response = self.stacks[name].send(request)
        except TransportError as error:
            self._notify("failure", request, error)
            raise
        if self._listening:
            phase_events(SafeListener(self.listener), request, name, response.timings_ms)
            self._notify("response", request, response)
        return response

    def _after_failure(self, request: Request, origin: str, failed: str, error: TransportError,
                       cohort: dict[str, Any] | None, deadline: float) -> Response:
        second = self._other(failed)
        if second is None:
            action, reason = Action.NONE, f"no other stack: {self.unavailable.get(_OTHER_NAME.get(failed, ''), 'none configured')}"
        else:
            action, reason = decide(error.code,
                                    same_trust=self.stacks[failed].trust_source == self.stacks[second].trust_source,
                                    idempotent=request.idempotent, may_have_reached_server=error.may_have_reached_server)
        if action is not Action.NONE and self._is_broken(origin, second):
            action, reason = Action.NONE, f"the {second} stack is marked broken for {origin}"
        remaining = deadline - time.monotonic()
        if action is not Action.NONE and remaining < _MIN_FALLBACK_BUDGET:
            action, reason = Action.NONE, f"the request's {request.timeout:g} s timeout is spent"
        self._notify("retry_decision", request, error, action.value, reason)
        if action is Action.NONE:
            self._count(failed, error.code)
            self._report("failure", failed, cohort, request, error=error)
            raise error
        self._notify("fallback", request, failed, second, error)
        try:
            response = self._send(second, dataclasses.replace(request, timeout=remaining))
        except TransportError as second_error:
            self._count(failed, error.code, fallback_ok=False)
            if action is not Action.CHECK_OTHER_STACK:
                # Both failed: the network or the server, not a stack; report what the first saw.
                self._report("failure", failed, cohort, request, error=error,
                             fallback={"stack": second, "ok": False, "code": second_error.code})
            raise error from second_error
        try:
            self.broken.mark(origin, failed)
            self._count(failed, error.code, fallback_ok=True)
            self._report("fallback", failed, cohort, request, error=error,
                         fallback={"stack": second, "ok": True}, response=response)
        except Exception:  # noqa: BLE001 - the fallback worked: bookkeeping never fails it
            pass
        return response

    def _after_success(self, request: Request, response: Response, cohort: dict[str, Any] | None) -> None:
        if self.sample_rate > 0:
            with self._rng_lock:
                sampled = self._rng.random() < self.sample_rate
            if sampled:
                self._report("sample", response.stack, cohort, request, response=response)
        other = self._other(response.stack)
        if other is None:
            return

        if not self.validator.due(request.idempotent):
            return

        def validate() -> None:
            try:
                shadow: Response | TransportError = self.stacks[other].send(request)
            except TransportError as error:
                shadow = error
            outcomes = {response.stack: str(response.status), other: _outcome_word(shadow)}
            agree = isinstance(shadow, Response) and shadow.status == response.status
            verdict = "agree" if agree else "differ"
            if self.usage is not None:
                self.usage.record_validation(agree)
            self._notify("validation", request, verdict, outcomes)
            self._report("validation", response.stack, cohort, request, response=response,
                         fallback={"stack": other, "ok": isinstance(shadow, Response), "verdict": verdict,
                                   "outcome": outcomes[other]})

        self.validator.start(validate)

    def _report(self, kind: str, stack: str, cohort: dict[str, Any] | None, request: Request, *,
                error: TransportError | None = None, fallback: dict[str, Any] | None = None,
                response: Response | None = None) -> None:
        if self.reporter is None:
            return
        try:
            event = pending_report(kind, stack, cohort, request, error=error, fallback=fallback, response=response,
                                   environment=self._environment(), install=self.report_install_id,
                                   app_version=self.app_version)
            if error is not None and self.diagnose_failures and self._diagnoses.start(event, request.url,
                                                                                      self._deliver):
                return  # delivered once diagnosed
            self._deliver(event)
        except Exception:  # noqa: BLE001 - a report never fails a request
            pass

    def _deliver(self, event: Any) -> None:
        try:
            if self.reporter is not None:
                self._delivered(self.reporter.report(event))
        except Exception:  # noqa: BLE001 - a report never fails a request
            pass

    def wait_for_diagnoses(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: wait (bounded) until no background diagnosis runs."""
        return self._diagnoses.wait(timeout)

    def _environment(self) -> dict[str, Any]:
        """The machine's facts for reports: computed once (they do not change while we run)."""
        if self._environment_cache is None:
            self._environment_cache = environment_facts(proxy=self.proxy, with_curl="curl" in self.stacks)
        return dict(self._environment_cache)

    def _report_unavailable(self, stack: str, message: str) -> None:
        """One ``failure`` report for a stack whose library did not load, with the loader's text."""
        self._notify("stack_unavailable", stack, message)
        if self.reporter is None:
            return
        try:
            self.reporter.report(unavailable_report(stack, message, environment=self._environment(),
                                                    install=self.report_install_id, app_version=self.app_version))
        except Exception:  # noqa: BLE001 - a report never fails the client
            pass

    @property
    def report_install_id(self) -> str:
        """The install id as reports carry it (:func:`.request_reports.salted_install_id`)."""
        return salted_install_id(self.install_id)

    def _install_id(self) -> str:
        if self.state_dir is None:
            return "unknown"
        try:
            from tlsdoctor.client.rollout import install_id

            return install_id(self.state_dir)
        except Exception:  # noqa: BLE001 - an unwritable state dir must not stop requests
            return "unknown"

    def _count(self, stack: str, code: str | None, fallback_ok: bool | None = None) -> None:
        if self.usage is not None:
            self.usage.record_request(stack, code, fallback_ok)

    def _delivered(self, accepted: bool) -> None:
        if self.usage is not None:
            self.usage.record_report(bool(accepted))

    def _notify(self, event: str, *args: Any) -> None:
        try:
            getattr(self.listener, event)(*args)
        except Exception:  # noqa: BLE001 - a listener never breaks a request
            pass


def _outcome_word(result: Response | TransportError) -> str:
    return str(result.status) if isinstance(result, Response) else f"{result.code} (curl {result.curl_code})"
