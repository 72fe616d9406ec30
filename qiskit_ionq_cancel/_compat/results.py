"""Format-keyed results (IonQ's current v0.4 document) for qiskit-ionq, which reads only the
legacy ``{"probabilities": {"url": ...}}`` entry of a job's ``results``.

IonQ's document keys ``results`` by format: ``{"ionq.result.probabilities.json.v1": {"id",
"format", "media_type"}}``, the payload being ``GET /jobs/{id}/artifacts/{artifactId}``. The
``v1`` probabilities payload is the flat map the legacy URL serves, so a job that names only
the format-keyed entry gets the legacy entry pointing at that artifact.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

__all__ = ["PROBABILITIES_V1", "add_legacy_result_urls"]

PROBABILITIES_V1 = "ionq.result.probabilities.json.v1"


def add_legacy_result_urls(job: dict[str, Any]) -> None:
    """Give ``job`` a legacy ``results.probabilities.url`` if it names only the format-keyed
    ``v1`` probabilities artifact (in place; anything else is left as it is)."""
    results = job.get("results")
    if not isinstance(results, dict) or "probabilities" in results:
        return
    entry = results.get(PROBABILITIES_V1)
    job_id = job.get("id")
    if not isinstance(entry, dict) or not isinstance(job_id, str):
        return
    artifact = entry.get("id")
    if isinstance(artifact, str) and artifact:
        results["probabilities"] = {
            "url": f"/v0.4/jobs/{quote(job_id, safe='')}/artifacts/{quote(artifact, safe='')}"}
