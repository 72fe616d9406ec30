"""The API contract this project holds its client and its emulator to.

``ionq-v0.4.openapi.json`` (beside this module) is one OpenAPI 3.1 document with the request
and response schemas of every IonQ v0.4 endpoint the project uses, written from IonQ's
published v0.4 OpenAPI document. :class:`Contract` checks single messages against it
with ``jsonschema``; :class:`ContractMonitor` collects the problems of everything a test sent
and answered (the test suite installs one for every test, see ``tests/conftest.py``);
schemathesis tests the emulator with the same document
(``tests/conformance/test_contract_schemathesis.py``).

Test tooling (not shipped in the wheel); needs ``jsonschema`` (the ``test`` extra).
"""

from __future__ import annotations

from .validate import CLIENT_MARK, SPEC_PATH, Contract, ContractMonitor, Operation, load_spec

__all__ = ["CLIENT_MARK", "SPEC_PATH", "Contract", "ContractMonitor", "Operation", "load_spec"]
