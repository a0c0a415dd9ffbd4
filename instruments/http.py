"""`direct`: a urllib opener that ignores proxy settings, for every call sweeper makes to a
server it benchmarks (health, `/v1/models`, `/metrics`, the prefix-cache reset).

urllib's default opener sends requests through `http_proxy` / `https_proxy` unless `no_proxy`
names the host, so on a host with a proxy configured and no `no_proxy`, even a call to
127.0.0.1 went to the proxy (and failed, or measured the proxy). The load client does not use
proxies either (aiohttp's `trust_env` is off), so what sweeper checks and scrapes is the server
it measures.
"""

from __future__ import annotations

import urllib.request

direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
