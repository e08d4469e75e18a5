"""How an edge fetches unlisted and private VOD from an origin and caches it for many viewers.

An edge holds the cluster's playback key, so it mints a short playback token of its own for the
video and sends it in ``EDGE_TOKEN`` (never to viewers). The origin then answers as for any
token, except that it leaves the playlists' URIs alone (the edge adds each viewer's own token)
and marks the answer with ``ACCESS: token`` plus a ``CDN-Cache-Control`` (RFC 9213) that lets
the edge keep it although ``Cache-Control`` says ``private`` to everyone else. The edge then
checks every viewer's token itself before serving its shared copy.
"""

from __future__ import annotations

EDGE_TOKEN = "Tributary-Edge-Token"
"""Request header: a playback token the edge minted for the video it fetches."""
ACCESS = "Tributary-Access"
"""Response header: present (value ``RESTRICTED``) when viewers need a playback token."""
RESTRICTED = "token"
CDN_CACHE_CONTROL = "CDN-Cache-Control"
"""RFC 9213: cache directives for CDNs only, taking precedence there over Cache-Control."""
