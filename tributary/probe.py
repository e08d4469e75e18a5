"""``tributary probe ROLE``: ask this container's own role whether it is ready, for container
health checks.

The port comes from the same settings the role reads, so a health check cannot point at a
port the role does not listen on; it needs no curl or wget in the image.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from tributary.settings import Settings

PROBE_TIMEOUT = 3.0


def role_http_port(settings: Settings, role: str) -> int:
    """The HTTP port ``tributary serve ROLE`` (or ``up``) serves /healthz, /readyz and /metrics on."""
    ports = {
        "up": settings.http.port,
        "origin": settings.http.port,
        "api": settings.http.port,
        "edge": settings.edge.port,
        "worker": settings.jobs.http_port,
        "chat": settings.chat.port,
    }
    return ports[role]


def probe(settings: Settings, role: str, path: str = "/readyz") -> tuple[bool, str]:
    """Whether the role on this host answers 200 at ``path``, and what it said."""
    url = f"http://127.0.0.1:{role_http_port(settings, role)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:
            return response.status == 200, response.read(1024).decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code}: {exc.read(1024).decode(errors='replace').strip()}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"
