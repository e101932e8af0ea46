"""Process-wide OpenTelemetry providers that follow whichever pipeline ``init_otel`` runs.

Rules:
- OpenTelemetry lets the global tracer, meter and logger providers be set once per process. The
  first successful ``init_otel`` sets each global, once, to one of the switching providers here
  (OpenTelemetry refuses, with a warning, a global the application already set; ours then
  stays unused and the iii helpers keep working through their own providers).
- A switching provider hands out tracers, loggers and meters that delegate every call to the
  running pipeline, or to OpenTelemetry's no-op implementation when none runs. So code written
  against ``opentelemetry.trace.get_tracer`` (or ``metrics.get_meter``, ``_logs.get_logger``)
  exports through the pipeline of the moment, across any number of init/shutdown cycles.
- Tracers and loggers look the pipeline up on every call. Meters cannot: instruments are
  created once and then used. Each meter and instrument we hand out is therefore rebound to the
  new pipeline's meter provider by ``switch`` (observable instruments re-register their
  callbacks there); a measurement made during a switch may be lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from opentelemetry import _logs, metrics, trace
from opentelemetry.metrics import CallbackT

from iii_core.observability._state import running

__all__ = ["install", "switch"]

_I = TypeVar("_I")
_Key = tuple[str, str | None, str | None]


class _SwitchTracer(trace.Tracer):
    def __init__(self, key: _Key, attributes: Any) -> None:
        self._key = key
        self._attributes = attributes
        self._cache: tuple[object, trace.Tracer] | None = None

    def _tracer(self) -> trace.Tracer:
        pipeline = running()
        if pipeline is None:
            return _NOOP_TRACER
        cache = self._cache
        if cache is None or cache[0] is not pipeline:
            name, version, schema_url = self._key
            tracer = pipeline.tracer_provider.get_tracer(
                name, version, schema_url, self._attributes
            )
            cache = self._cache = (pipeline, tracer)
        return cache[1]

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        # The real tracer's context manager as is: it also decorates async functions correctly.
        return self._tracer().start_as_current_span(*args, **kwargs)


class _SwitchTracerProvider(trace.TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        return _SwitchTracer(key, attributes)


class _SwitchLogger(_logs.Logger):
    def __init__(self, key: _Key, attributes: Any) -> None:
        super().__init__(key[0], key[1], key[2], attributes)
        self._key = key
        self._cache: tuple[object, _logs.Logger] | None = None

    def _logger(self) -> _logs.Logger:
        pipeline = running()
        if pipeline is None or pipeline.logger_provider is None:
            return _NOOP_LOGGER
        cache = self._cache
        if cache is None or cache[0] is not pipeline:
            name, version, schema_url = self._key
            logger = pipeline.logger_provider.get_logger(
                name, version, schema_url, self._attributes
            )
            cache = self._cache = (pipeline, logger)
        return cache[1]

    def emit(self, *args: Any, **kwargs: Any) -> None:
        self._logger().emit(*args, **kwargs)

    def enabled(self, *args: Any, **kwargs: Any) -> bool:
        return self._logger().enabled(*args, **kwargs)


class _SwitchLoggerProvider(_logs.LoggerProvider):
    def get_logger(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> _logs.Logger:
        return _SwitchLogger((name, version, schema_url), attributes)


class _Rebindable(Generic[_I]):
    """The real instrument behind one of ours, recreated on every switch."""

    def __init__(self, make: Callable[[metrics.Meter], _I], meter: metrics.Meter) -> None:
        self._make = make
        self.real: _I = make(meter)

    def bind(self, meter: metrics.Meter) -> None:
        self.real = self._make(meter)


class _SwitchCounter(metrics.Counter):
    def __init__(self, slot: _Rebindable[metrics.Counter], name: str, unit: str, description: str):
        self.slot = slot

    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self.slot.real.add(amount, attributes, context)


class _SwitchUpDownCounter(metrics.UpDownCounter):
    def __init__(
        self, slot: _Rebindable[metrics.UpDownCounter], name: str, unit: str, description: str
    ):
        self.slot = slot

    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self.slot.real.add(amount, attributes, context)


class _SwitchHistogram(metrics.Histogram):
    def __init__(
        self, slot: _Rebindable[metrics.Histogram], name: str, unit: str, description: str
    ):
        self.slot = slot

    def record(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self.slot.real.record(amount, attributes, context)


class _SwitchGauge(metrics._Gauge):
    def __init__(self, slot: _Rebindable[metrics._Gauge], name: str, unit: str, description: str):
        self.slot = slot

    def set(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self.slot.real.set(amount, attributes, context)


class _SwitchObservableCounter(metrics.ObservableCounter):
    def __init__(self, slot: _Rebindable[Any], name: str, callbacks: Any, unit: str, desc: str):
        super().__init__(name, callbacks, unit, desc)
        self.slot = slot


class _SwitchObservableUpDownCounter(metrics.ObservableUpDownCounter):
    def __init__(self, slot: _Rebindable[Any], name: str, callbacks: Any, unit: str, desc: str):
        super().__init__(name, callbacks, unit, desc)
        self.slot = slot


class _SwitchObservableGauge(metrics.ObservableGauge):
    def __init__(self, slot: _Rebindable[Any], name: str, callbacks: Any, unit: str, desc: str):
        super().__init__(name, callbacks, unit, desc)
        self.slot = slot


class _SwitchMeter(metrics.Meter):
    def __init__(self, key: _Key, attributes: Any, provider: metrics.MeterProvider) -> None:
        super().__init__(key[0], key[1], key[2])
        self._attributes = attributes
        self._lock = threading.Lock()
        self._slots: list[_Rebindable[Any]] = []
        self._real = self._meter_of(provider)

    def _meter_of(self, provider: metrics.MeterProvider) -> metrics.Meter:
        return provider.get_meter(self.name, self.version, self.schema_url, self._attributes)

    def bind(self, provider: metrics.MeterProvider) -> None:
        with self._lock:
            self._real = self._meter_of(provider)
            for slot in self._slots:
                slot.bind(self._real)

    def _slot(self, make: Callable[[metrics.Meter], _I]) -> _Rebindable[_I]:
        with self._lock:
            slot = _Rebindable(make, self._real)
            self._slots.append(slot)
            return slot

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        slot = self._slot(lambda meter: meter.create_counter(name, unit, description))
        return _SwitchCounter(slot, name, unit, description)

    def create_up_down_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> metrics.UpDownCounter:
        slot = self._slot(lambda meter: meter.create_up_down_counter(name, unit, description))
        return _SwitchUpDownCounter(slot, name, unit, description)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        slot = self._slot(
            lambda meter: meter.create_histogram(
                name,
                unit,
                description,
                explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
            )
        )
        return _SwitchHistogram(slot, name, unit, description)

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> metrics._Gauge:
        slot = self._slot(lambda meter: meter.create_gauge(name, unit, description))
        return _SwitchGauge(slot, name, unit, description)

    def create_observable_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableCounter:
        slot = self._slot(
            lambda meter: meter.create_observable_counter(name, callbacks, unit, description)
        )
        return _SwitchObservableCounter(slot, name, callbacks, unit, description)

    def create_observable_up_down_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableUpDownCounter:
        slot = self._slot(
            lambda meter: meter.create_observable_up_down_counter(
                name, callbacks, unit, description
            )
        )
        return _SwitchObservableUpDownCounter(slot, name, callbacks, unit, description)

    def create_observable_gauge(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableGauge:
        slot = self._slot(
            lambda meter: meter.create_observable_gauge(name, callbacks, unit, description)
        )
        return _SwitchObservableGauge(slot, name, callbacks, unit, description)


class _SwitchMeterProvider(metrics.MeterProvider):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._meters: dict[_Key, _SwitchMeter] = {}
        self._real: metrics.MeterProvider = metrics.NoOpMeterProvider()

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> metrics.Meter:
        key = (name, version, schema_url)
        with self._lock:
            meter = self._meters.get(key)
            if meter is None:
                meter = self._meters[key] = _SwitchMeter(key, attributes, self._real)
            return meter

    def switch(self, provider: metrics.MeterProvider) -> None:
        with self._lock:
            self._real = provider
            meters = list(self._meters.values())
        for meter in meters:
            meter.bind(provider)


_NOOP_TRACER = trace.NoOpTracer()
_NOOP_LOGGER = _logs.NoOpLogger("iii")
_TRACER_PROVIDER = _SwitchTracerProvider()
_LOGGER_PROVIDER = _SwitchLoggerProvider()
_METER_PROVIDER = _SwitchMeterProvider()
_INSTALLED = threading.Event()


def install() -> None:
    """Offer the switching providers as OpenTelemetry's globals (first call only)."""
    if _INSTALLED.is_set():
        return
    _INSTALLED.set()
    trace.set_tracer_provider(_TRACER_PROVIDER)
    metrics.set_meter_provider(_METER_PROVIDER)
    _logs.set_logger_provider(_LOGGER_PROVIDER)


def switch(meter_provider: metrics.MeterProvider | None) -> None:
    """Rebind every meter handed out to ``meter_provider`` (None: the no-op provider)."""
    _METER_PROVIDER.switch(meter_provider or metrics.NoOpMeterProvider())
