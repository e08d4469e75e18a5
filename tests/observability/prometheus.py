"""Read a role's ``/metrics`` as Prometheus would: fetched over HTTP and parsed with
``prometheus_client``'s own parser, so the exposition format itself is checked too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@dataclass(frozen=True)
class Scrape:
    families: dict[str, list[Sample]]
    """Samples by family name (counters without ``_total``, histograms without suffixes)."""

    def samples(self, name: str, **labels: str) -> list[Sample]:
        """Samples called ``name`` (``…_total``, ``…_bucket``…) whose labels include ``labels``."""
        return [
            sample
            for family in self.families.values()
            for sample in family
            if sample.name == name and labels.items() <= sample.labels.items()
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the matching samples: 0 when there are none (a series not born yet)."""
        return sum(sample.value for sample in self.samples(name, **labels))


async def scrape(http: aiohttp.ClientSession, base: str) -> Scrape:
    async with http.get(f"{base}/metrics") as response:
        assert response.status == 200, response.status
        assert response.content_type == "text/plain"
        text = await response.text()
    return Scrape({family.name: family.samples for family in text_string_to_metric_families(text)})


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def scrape_until(
    http: aiohttp.ClientSession, base: str, condition: Callable[[Scrape], bool], timeout: float = 5.0
) -> Scrape:
    """Scrape until ``condition`` holds (what happens on another task or thread shows up a
    moment later); the scrape that met it."""
    deadline = time.monotonic() + timeout
    while True:
        got = await scrape(http, base)
        if condition(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{base}/metrics never met the condition")
        await asyncio.sleep(0.1)
