"""``GET /schemas/formats/{format}``: the JSON Schema (draft-07) of each artifact format the
emulator serves, as IonQ's October 2026 document describes its payload (``Formats``).
Written out here, not read from IonQ's document: the emulator ships without it.
"""

from __future__ import annotations

import copy
from typing import Any

from .model import ApiError

__all__ = ["FORMATS", "format_schema"]

_DRAFT = "https://json-schema.org/draft-07/schema"
_NUMBERS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "number"}}
_BITS: dict[str, Any] = {"type": "array", "items": {"type": "number", "enum": [0, 1]}}
_GATE: dict[str, Any] = {
    "type": "object", "required": ["gate"], "additionalProperties": False,
    "properties": {"gate": {"type": "string", "enum": ["gpi", "gpi2", "ms", "zz", "nop"]},
                   "target": {"type": "integer"},
                   "targets": {"type": "array", "items": {"type": "integer"}},
                   "phase": {"type": "number"},
                   "phases": {"type": "array", "items": {"type": "number"}},
                   "angle": {"type": "number"}, "rotation": {"type": "number"}}}


def _registered(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {
        "type": "object", "required": ["registers"], "properties": {"registers": {
            "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": value}}}}}}


#: format -> (description, schema body)
FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "ionq.result.probabilities.json.v1": (
        "Legacy probability distribution: decimal qubit-state strings to probabilities.",
        _NUMBERS),
    "ionq.result.probabilities.json.v2": (
        "Register-nested probability distribution.",
        _registered("probabilities", {"type": "number", "minimum": 0, "maximum": 1})),
    "ionq.result.histogram.json.v1": (
        "Legacy shot count histogram: decimal qubit-state strings to shot counts.", _NUMBERS),
    "ionq.result.histogram.json.v2": (
        "Register-nested shot count histogram.",
        _registered("histogram", {"type": "number", "minimum": 0})),
    "ionq.result.shots.json.v1": (
        "Legacy per-shot outcomes: one decimal qubit-state string per shot.",
        {"type": "array", "items": {"type": "string"}}),
    "ionq.result.shots.json.v2": (
        "Per-shot register outcomes: each shot's bits of every named register.",
        {"type": "object", "required": ["shots"], "properties": {"shots": {
            "type": "array", "items": {"type": "object", "required": ["registers"],
                                       "properties": {"registers": {
                                           "type": "object", "additionalProperties": _BITS}}}}}}),
    "ionq.result.probabilities-aggregate.json.v1": (
        "A multi-circuit job's probability distributions, keyed by child job id.",
        {"type": "object", "additionalProperties": _NUMBERS}),
    "ionq.native.v1": (
        "A compiled circuit in IonQ's native gates: a qubit count and the gates in order.",
        {"type": "object", "required": ["qubits", "circuit"], "properties": {
            "qubits": {"type": "integer", "minimum": 1},
            "circuit": {"type": "array", "items": _GATE}}}),
}


def format_schema(name: str) -> dict[str, Any]:
    """``FormatSchemaDocument`` of one format (404 for a format the API does not know)."""
    entry = FORMATS.get(name)
    if entry is None:
        raise ApiError(404, f"Unknown format {name[:80]!r}; known: {', '.join(FORMATS)}")
    description, body = entry
    return {"$schema": _DRAFT, "$id": name, "description": description,
            **copy.deepcopy(body)}
