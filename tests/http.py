"""One HTTP client for tests that speak to the live service directly (not via the SDK).

Its timeout is generous: a loaded CI machine can take seconds to answer, and a timeout
here would be a flake, not a finding (latency is measured by ``bench/api.py`` instead).
"""

from __future__ import annotations

import httpx

http = httpx.Client(timeout=httpx.Timeout(60.0), follow_redirects=False)
