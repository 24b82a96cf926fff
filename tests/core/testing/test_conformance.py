"""check_integration_type passes a plugin that keeps the contract and names each breach."""

from __future__ import annotations

import pytest

from alertgate.testing import build_plugins, check_integration_type
from tests.core.testing.tiny import GARBAGE, RESOLVE, SLUG, TRIGGER, Tiny


def check(plugin: Tiny, **overrides: object) -> None:
    samples: dict[str, object] = {"trigger": TRIGGER, "resolve": RESOLVE, "garbage": GARBAGE}
    samples.update(overrides)
    check_integration_type(SLUG, plugins=build_plugins(plugin), **samples)  # type: ignore[arg-type]


def test_a_plugin_keeping_the_contract_passes() -> None:
    check(Tiny())


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        ("lax_settings", "settings model LaxSettings accepts unknown keys"),
        ("int_fingerprint", "fingerprint 42 (int) is not a non-empty string"),
        ("unstable_fingerprint", "the fingerprint of trigger[0] is not stable"),
        ("never_resolves", "resolve[0] did not resolve what trigger[0] opened"),
        ("accepts_garbage", "garbage[0] got 200"),
        ("lifecycle_raises", "a hook raised while delivering trigger[0] and resolve[0]"),
        ("parse_raises", "parsing trigger[0] raised RuntimeError('parser bug')"),
    ],
)
def test_each_breach_is_named(breaks: str, message: str) -> None:
    with pytest.raises(AssertionError) as caught:
        check(Tiny(**{breaks: True}))
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{SLUG}: ") or "hook raised" in str(caught.value)


def test_resolve_for_another_alert_is_caught() -> None:
    with pytest.raises(AssertionError, match=r"resolve\[1\] did not resolve"):
        check(Tiny(), resolve=[RESOLVE[0], RESOLVE[0]])


def test_garbage_that_parses_is_caught() -> None:
    with pytest.raises(AssertionError, match=r"garbage\[0\] got 200"):
        check(Tiny(), garbage=[TRIGGER[0]])


def test_invalid_settings_are_reported() -> None:
    with pytest.raises(AssertionError, match="the settings given are invalid"):
        check(Tiny(), settings={"prefix": ["not", "a", "string"]})


def test_samples_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 trigger samples but 1 resolve"):
        check(Tiny(), resolve=RESOLVE[:1])
