"""with_fresh_random: a cached hello's bytes, with a new random and session id per connection."""

from __future__ import annotations

import pytest

from tlsdoctor.wire import ClientHello, parse_client_hello, with_fresh_random
from tlsdoctor.wire.cipher_suites import TLS12_SUITES


@pytest.mark.parametrize("versions", [("1.3", "1.2"), ("1.2",), ("1.0",)])
def test_only_the_random_and_session_id_change(versions: tuple[str, ...]) -> None:
    template = ClientHello(versions=versions, cipher_suites=TLS12_SUITES, server_name="a.test").to_bytes()
    one, two = with_fresh_random(template), with_fresh_random(template)
    assert len(one) == len(template) and one != two
    start = 5 + 4 + 2
    sid_len = template[start + 32]
    assert sid_len == (32 if "1.3" in versions else 0)
    changed = [i for i in range(len(template)) if one[i] != template[i]]
    assert changed and all(start <= i < start + 33 + sid_len and i != start + 32 for i in changed)
    assert parse_client_hello(one) == parse_client_hello(template)  # the offer itself is untouched


def test_something_else_is_refused() -> None:
    with pytest.raises(ValueError):
        with_fresh_random(b"\x16\x03\x01\x00\x05hello")
