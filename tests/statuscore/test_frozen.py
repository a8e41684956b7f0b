"""`quick_init`: the same constructor as dataclasses' frozen one, only cheaper."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from statuscore.frozen import builder, quick_init
from statuscore.model import (
    Attempt,
    CheckResult,
    Monitor,
    Status,
    Transition,
    TransitionKind,
    new_attempt,
    new_monitor,
    new_result,
    new_transition,
)
from statuscore.state import MonitorState, new_state

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _reference(cls: type) -> type:
    """`cls`'s fields as a frozen dataclass with dataclasses' own __init__."""
    return dataclasses.make_dataclass("Reference", [(f.name, f.type, f) for f in dataclasses.fields(cls)], frozen=True)


@pytest.mark.parametrize("cls", [Attempt, CheckResult, Transition, MonitorState])
def test_the_signature_is_the_one_dataclasses_would_write(cls: type) -> None:
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(_reference(cls)).parameters
    assert list(ours) == list(theirs)
    for name, parameter in ours.items():
        assert parameter.kind == theirs[name].kind
        assert repr(parameter.default) == repr(theirs[name].default)  # "<factory>" for a factory


def test_defaults_and_factories_come_out_as_dataclasses_makes_them() -> None:
    first, second = Attempt(ok=True), Attempt(True)
    assert (
        first
        == second
        == Attempt(
            ok=True, status_code=None, error=None, retryable=False, warning=None, body=b"", headers={}, values={}
        )
    )
    assert first.values is not second.values  # a fresh dict each, not one shared default
    assert MonitorState() == MonitorState(status=Status.UNKNOWN, flips=())


def test_positional_and_keyword_arguments_mix_as_before() -> None:
    result = CheckResult("Web", "web", Status.UP, NOW, 0.2, status_code=200)
    assert (result.monitor, result.slug, result.status, result.latency, result.status_code) == (
        "Web",
        "web",
        Status.UP,
        0.2,
        200,
    )
    with pytest.raises(TypeError):
        CheckResult("Web", "web", Status.UP, NOW)  # type: ignore[call-arg]  # latency is required
    with pytest.raises(TypeError):
        Attempt(ok=True, colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Attempt(True, ok=False)  # type: ignore[misc]


def test_the_records_stay_frozen_hashable_replaceable_and_picklable() -> None:
    result = CheckResult("Web", "web", Status.DOWN, NOW, 1.5, error="HTTP 503")
    transition = Transition(
        monitor="Web",
        slug="web",
        kind=TransitionKind.DOWN,
        previous=Status.UP,
        current=Status.DOWN,
        at=NOW,
        since=NOW,
        duration=None,
        result=result,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = Status.UP  # type: ignore[misc]
    assert hash(MonitorState(since=NOW)) == hash(MonitorState(Status.UNKNOWN, NOW))
    assert dataclasses.replace(result, status=Status.UP).status is Status.UP
    assert pickle.loads(pickle.dumps(transition)) == transition


def test_keyword_only_fields_fields_outside_init_and_post_init_are_kept() -> None:
    @quick_init
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Options:
        url: str
        retries: int = 1
        tags: list[str] = dataclasses.field(default_factory=list)
        parsed: str = dataclasses.field(default="", init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "parsed", self.url.upper())

    options = Options(url="x", retries=2)
    assert (options.url, options.retries, options.tags, options.parsed) == ("x", 2, [], "X")
    assert Options(url="y").tags is not Options(url="y").tags
    with pytest.raises(TypeError):
        Options("x")  # type: ignore[misc]  # keyword-only, as before
    with pytest.raises(TypeError):
        Options(url="x", parsed="no")  # type: ignore[call-arg]  # not a parameter


def test_it_refuses_classes_it_would_get_wrong() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class WithInitVar:
        x: int
        scale: dataclasses.InitVar[int] = 1

    with pytest.raises(TypeError, match="not a frozen dataclass"):
        quick_init(Mutable)
    with pytest.raises(TypeError, match="takes more than its fields"):
        quick_init(WithInitVar)


BUILT = [
    (Attempt, new_attempt),
    (CheckResult, new_result),
    (Transition, new_transition),
    (Monitor, new_monitor),
    (MonitorState, new_state),
]


@pytest.mark.parametrize("cls, build", BUILT)
def test_a_builder_takes_what_the_class_takes(cls: type, build: Any) -> None:
    assert list(inspect.signature(build).parameters) == list(inspect.signature(cls).parameters)


def test_a_builder_makes_the_very_record_the_class_makes() -> None:
    result = new_result("Web", "web", Status.UP, NOW, 0.2, status_code=200)
    assert type(result) is CheckResult
    assert result == CheckResult("Web", "web", Status.UP, NOW, 0.2, status_code=200)
    assert repr(result) == repr(CheckResult("Web", "web", Status.UP, NOW, 0.2, status_code=200))
    first, second = new_attempt(ok=True), new_attempt(ok=True)
    assert first == Attempt(ok=True) and first.values is not second.values  # factories run each time
    assert new_state() == MonitorState() and hash(new_state(since=NOW)) == hash(MonitorState(since=NOW))
    transition = new_transition(
        monitor="Web",
        slug="web",
        kind=TransitionKind.FIRST,
        previous=Status.UNKNOWN,
        current=Status.UP,
        at=NOW,
        since=NOW,
        duration=None,
        result=result,
        notify=False,
    )
    assert isinstance(transition, Transition)
    assert pickle.loads(pickle.dumps(transition)) == transition
    assert dataclasses.replace(result, status=Status.DOWN).status is Status.DOWN
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.error = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del result.error  # type: ignore[misc]
    with pytest.raises(TypeError):
        new_result("Web", "web", Status.UP)  # checked_at and latency are required
    with pytest.raises(TypeError):
        new_attempt(ok=True, colour="red")


def test_a_builder_refuses_classes_it_cannot_fill() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(slots=True)
    class Mutable:
        x: int

    for cls, message in (
        (NoSlots, "needs slots"),
        (Checked, "needs slots and no __post_init__"),
        (Mutable, "not a frozen dataclass"),
    ):
        with pytest.raises(TypeError, match=message):
            builder(cls)
