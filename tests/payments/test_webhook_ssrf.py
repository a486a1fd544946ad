"""Webhook endpoints may not reach inside the platform's network (SSRF)."""

from __future__ import annotations

import pytest

from payments.webhooks import EndpointError, private_destination, validate_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.5/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_internal_destinations_are_refused(url):
    with pytest.raises(EndpointError) as refused:
        validate_url(url)
    assert refused.value.param == "url"
    assert validate_url(url, allow_private=True) == url  # sandboxes and tests may opt in


def test_public_addresses_and_names_are_accepted():
    assert validate_url("https://93.184.215.14/hook") == "https://93.184.215.14/hook"
    assert validate_url("https://hooks.merchant.example/corridor")


def test_a_name_resolving_inward_is_refused_at_delivery():
    assert private_destination("localhost", allow_private=False) is not None
    assert private_destination("127.0.0.1", allow_private=False) is not None
    assert private_destination("93.184.215.14", allow_private=False) is None
