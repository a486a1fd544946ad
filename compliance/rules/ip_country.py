"""IP address -> country, offline.

The country-mismatch and country-list rules want the payer's IP country. Callers that
know it (a CDN header, a fraud service) pass ``ip_country`` in the context; otherwise
:class:`GeoIpCountryResolver` looks it up in the MaxMind GeoLite2 country data that the
``geoip2fast`` package ships (IPv4 and IPv6, no network access). Private, reserved and
unknown addresses resolve to ``None``: no country is better than a wrong one.

The shipped data has a date (``data_source``); it ages, so a deployment that relies on
IP geography should update the package or point ``data_file`` at a fresher file.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any, Protocol

from .context import ContextError, country_code


class IpCountryResolver(Protocol):
    def __call__(self, ip: str) -> str | None: ...


class GeoIpCountryResolver:
    """Loads the data file on first use (about 0.15 s), then answers in microseconds."""

    DEFAULT_DATA_FILE = "geoip2fast-ipv6.dat.gz"
    """The package's file covering both IPv4 and IPv6."""

    def __init__(self, data_file: str | None = None) -> None:
        self._data_file = data_file or self.DEFAULT_DATA_FILE
        self._reader: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._reader is None:
                from geoip2fast import GeoIP2Fast

                self._reader = GeoIP2Fast(geoip2fast_data_file=self._data_file, verbose=False)
        return self._reader

    @property
    def data_source(self) -> str:
        """Source and date of the data, e.g. ``MAXMIND:GeoLite2-Country-...-20240618``."""
        return str(self._load().get_database_info().get("source_info", ""))

    def __call__(self, ip: str) -> str | None:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return None
        if not address.is_global:
            return None
        reader = self._reader or self._load()
        code = reader.lookup(address.compressed).country_code
        if not code or len(code) != 2 or not code.isalpha():
            return None
        try:
            return country_code(code)
        except ContextError:
            return None  # e.g. "EU" or "AP" regional allocations


_default: GeoIpCountryResolver | None = None


def default_resolver() -> GeoIpCountryResolver:
    """One shared resolver per process (the loaded data takes about 60 MB)."""
    global _default
    if _default is None:
        _default = GeoIpCountryResolver()
    return _default
