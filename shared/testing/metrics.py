"""Reading a Prometheus text exposition in tests: parse it, sum the samples that match."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


def parsed(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample as (name, labels, value); raises if the text does not parse."""
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        value
        for sample, sample_labels, value in parsed(text)
        if sample == name and labels.items() <= sample_labels.items()
    )


def scrape(base_url: str) -> str:
    response = requests.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text
