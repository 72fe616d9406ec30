"""Check single HTTP messages against the API contract (``ionq-v0.4.openapi.json``).

The contract is one OpenAPI 3.1 document, so its component schemas are plain JSON Schema
2020-12: ``jsonschema`` validates bodies and parameters against them, and schemathesis tests
the emulator with the same file. ``#/components/...`` references are resolved by
``referencing`` against the whole document (registered once); one validator is built per
schema and kept.

What the document cannot say, the code here checks: that an error body's ``statusCode``
repeats the HTTP status, the ``Authorization`` header of authenticated operations, and JSON as
the content type of every body.

``check_request`` and ``check_response`` return a list of problems, empty when the message
keeps the contract. A problem never quotes the ``Authorization`` header (it holds the key).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import jsonschema  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    import requests

    from qiskit_ionq_cancel.emulator import Exchange

__all__ = ["CLIENT_MARK", "SPEC_PATH", "Contract", "ContractMonitor", "Operation", "load_spec"]

#: The contract, shipped beside this module (loaded relative to ``__file__``).
SPEC_PATH = Path(__file__).with_name("ionq-v0.4.openapi.json")
_METHODS = ("get", "put", "post", "delete", "patch")
#: The mark of a request sent by this package's client (its User-Agent ends in it).
CLIENT_MARK = "qiskit-ionq-cancel/"
#: The document's URI in the ``referencing`` registry.
_URI = "urn:qiskit-ionq-cancel:contract"


def load_spec() -> dict[str, Any]:
    """The OpenAPI document, freshly parsed (schemathesis wants a dict of its own)."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


@dataclass(frozen=True, eq=False)
class Operation:
    """One operation of the contract, with its references resolved (hashed by identity)."""

    method: str  # upper case
    operation_id: str
    template: str  # "/jobs/{UUID}", relative to the server's base path
    pointer: str  # JSON pointer of the operation object in the document
    pattern: re.Pattern[str]
    parameters: tuple[tuple[str, dict[str, Any]], ...]  # (pointer of its schema, parameter)
    request_body: tuple[str, dict[str, Any]] | None  # (pointer of the body object, object)
    public: bool  # no security requirement (no API key)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


class Contract:
    """The API contract: finds the operation of a request and checks messages against it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.base_path = urlsplit(document["servers"][0]["url"]).path.rstrip("/")
        self._validators: dict[str, Any] = {}
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, DRAFT202012.create_resource(dict(document)))
        self._lock = threading.Lock()
        self.operations = list(self._operations())
        # Concrete paths win over templated ones (OpenAPI's rule): fewest parameters first.
        self.operations.sort(key=lambda op: op.template.count("{"))

    @classmethod
    @cache
    def load(cls) -> Contract:
        """The shipped contract (parsed once)."""
        return cls(load_spec())

    # -- the document -------------------------------------------------------------------
    def resolve(self, pointer: str) -> tuple[str, Any]:
        """The node at the JSON pointer ``pointer``, following ``$ref`` (to components);
        returns the final pointer and the node."""
        for _ in range(10):
            node: Any = self.document
            for token in pointer.lstrip("/").split("/") if pointer else []:
                key = token.replace("~1", "/").replace("~0", "~")
                node = node[int(key)] if isinstance(node, list) else node[key]
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return pointer, node
            pointer = ref[1:]
        raise ValueError(f"reference loop at {pointer}")

    def _operations(self) -> Iterator[Operation]:
        for template, item in self.document["paths"].items():
            item_pointer = f"/paths/{_escape(template)}"
            regex = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{")
                            else re.escape(part) for part in re.split(r"(\{[^}]+\})", template))
            for method in _METHODS:
                if method not in item:
                    continue
                pointer = f"{item_pointer}/{method}"
                params: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
                for where in (f"{item_pointer}/parameters", f"{pointer}/parameters"):
                    listed = self.resolve(where)[1] if _has(self.document, where) else []
                    for index in range(len(listed)):
                        at, param = self.resolve(f"{where}/{index}")
                        params[(param["in"], param["name"])] = (f"{at}/schema", param)
                body = (self.resolve(f"{pointer}/requestBody")
                        if "requestBody" in item[method] else None)
                security = item[method].get("security", self.document.get("security", []))
                yield Operation(method.upper(), item[method].get("operationId", ""), template,
                                pointer, re.compile(regex),
                                tuple(params.values()), body, not any(security))

    def find(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """The operation of ``method`` on ``path`` (a URL path including the base path) and
        its path parameters; ``(None, {})`` when the API has no such operation. Methods are
        case-sensitive (RFC 9110, 9.1): ``get`` is not ``GET``."""
        if not path.startswith(self.base_path + "/"):
            return None, {}
        relative = path[len(self.base_path):]
        template = None  # the most concrete path that matches, whatever the method
        for op in self.operations:
            match = op.pattern.fullmatch(relative)
            if match is None:
                continue
            template = template or op.template
            if op.template != template:
                break  # a concrete path hides the templated ones for every method
            if op.method == method:
                return op, match.groupdict()
        return None, {}

    def schema_errors(self, pointer: str, instance: Any, what: str) -> list[str]:
        """Problems of ``instance`` against the schema at ``pointer`` (``[]``: it is valid)."""
        with self._lock:
            validator = self._validators.get(pointer)
            if validator is None:
                jsonschema.Draft202012Validator.check_schema(self.resolve(pointer)[1])
                validator = jsonschema.Draft202012Validator({"$ref": f"{_URI}#{pointer}"},
                                                            registry=self._registry)
                self._validators[pointer] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{what}{_where(e)}: {_shorten(e.message)}" for e in errors[:5]]

    # -- requests -----------------------------------------------------------------------
    def check_request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | str | None) -> list[str]:
        """Problems of one request: its operation, path and query parameters, the
        ``Authorization`` and ``Content-Type`` headers, and its body."""
        parts = urlsplit(url)
        label = f"request {method} {parts.path}"
        op, path_params = self.find(method, parts.path)
        if op is None:
            return [f"{label}: not an operation of the API"]
        problems: list[str] = []
        lowered = {name.lower(): value for name, value in headers.items()}
        query = parse_qs(parts.query, keep_blank_values=True)
        for schema_pointer, param in op.parameters:
            name, where = param["name"], param["in"]
            if where == "path":
                problems += self.schema_errors(schema_pointer, path_params.get(name),
                                               f"{label}: path parameter {name!r}")
            elif where == "query" and name in query:
                values = query.pop(name)
                schema = self.resolve(schema_pointer)[1]
                if schema.get("type") == "array":
                    items = self.resolve(f"{self.resolve(schema_pointer)[0]}/items")[1]
                    value: Any = [_coerce(items, v) for v in values]
                elif len(values) > 1:
                    problems.append(f"{label}: query parameter {name!r} given {len(values)} "
                                    "times")
                    continue
                else:
                    value = _coerce(schema, values[0])
                problems += self.schema_errors(schema_pointer, value,
                                               f"{label}: query parameter {name!r}")
            elif where == "query" and param.get("required"):
                problems.append(f"{label}: query parameter {name!r} is missing")
        problems += [f"{label}: query parameter {name!r} is not the API's" for name in query]
        if not op.public:
            auth = lowered.get("authorization")
            if auth is None:
                problems.append(f"{label}: no Authorization header")
            elif self.schema_errors("/components/schemas/AuthorizationHeader", auth, ""):
                problems.append(f"{label}: the Authorization header is not 'apiKey <KEY>'")
        problems += self._check_body(label, op, lowered.get("content-type"), body)
        return problems

    def _check_body(self, label: str, op: Operation, content_type: str | None,
                    body: bytes | str | None) -> list[str]:
        if not body:
            if op.request_body is not None and op.request_body[1].get("required"):
                return [f"{label}: the body is missing"]
            return []
        if op.request_body is None:
            return [f"{label}: sends a body, but the operation takes none"]
        at, spec = op.request_body
        media = _media_type(content_type)
        if media not in spec["content"]:
            return [f"{label}: Content-Type {content_type!r} is not "
                    f"{' or '.join(spec['content'])}"]
        try:
            data = json.loads(body)
        except ValueError:
            return [f"{label}: the body is not JSON"]
        return self.schema_errors(f"{at}/content/{_escape(media)}/schema", data, f"{label} body")

    # -- responses ----------------------------------------------------------------------
    def check_response(self, method: str, target: str, status: int,
                       headers: Mapping[str, str], payload: bytes, *,
                       injected: bool = False) -> list[str]:
        """Problems of one answer to ``method`` on ``target`` (path and query, or a URL).

        Every 4xx/5xx must be IonQ's error body with ``statusCode`` equal to the status; a
        success must be documented for the operation and match its schema. ``injected``
        (a fault a test injected on purpose) waives only the rule that the status be one the
        operation documents: the test chose it, but its body must still be IonQ's.
        """
        try:
            path = urlsplit(target).path
        except ValueError:  # a request target that is no URL ("http://[/"): no operation
            path = target[:80]
        label = f"answer {status} to {method} {path}"
        op, _ = self.find(method, path)
        lowered = {name.lower(): value for name, value in headers.items()}
        problems: list[str] = []
        if status >= 400:
            pointer: str | None = "/components/schemas/Error"
            media = "application/json"
            if op is not None and not injected and str(status) not in self._responses(op):
                problems.append(f"{label}: status {status} is not documented for "
                                f"{op.operation_id}")
        else:
            if op is None:
                return [f"{label}: a success for a request that is not an API operation"]
            if str(status) not in self._responses(op):
                return [f"{label}: status {status} is not documented for {op.operation_id}"]
            at, spec = self.resolve(f"{op.pointer}/responses/{status}")
            media = next(iter(spec.get("content", {})), "")
            pointer = f"{at}/content/{_escape(media)}/schema" if media else None
        if "retry-after" in lowered or status == 429:
            retry_after = lowered.get("retry-after")
            if retry_after is not None:
                problems += self.schema_errors("/components/schemas/RetryAfter", retry_after,
                                               f"{label}: Retry-After")
        if pointer is None:
            return problems + ([f"{label}: a body where none is documented"] if payload else [])
        if _media_type(lowered.get("content-type")) != media:
            problems.append(f"{label}: Content-Type {lowered.get('content-type')!r} is not "
                            f"{media}")
        try:
            data = json.loads(payload)
        except ValueError:
            return [*problems, f"{label}: the body is not JSON ({payload[:60]!r})"]
        problems += self.schema_errors(pointer, data, f"{label} body")
        if status >= 400 and isinstance(data, dict) and data.get("statusCode") != status:
            problems.append(f"{label}: statusCode {data.get('statusCode')!r} is not {status}")
        return problems

    def _responses(self, op: Operation) -> dict[str, Any]:
        responses: dict[str, Any] = self.resolve(f"{op.pointer}/responses")[1]
        return responses


def _has(document: Mapping[str, Any], pointer: str) -> bool:
    node: Any = document
    for token in pointer.lstrip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _coerce(schema: Mapping[str, Any], raw: str) -> Any:
    """A query string value as the JSON value its schema describes (form style)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _where(error: Any) -> str:
    path = "".join(f"[{p!r}]" for p in error.absolute_path)
    return f" at {path}" if path else ""


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class ContractMonitor:
    """Collects the contract problems of every message it is shown; thread-safe.

    ``observe_answer`` is an emulator's ``observer`` (see ``Emulator(observer=...)``);
    ``observe_request`` checks a prepared ``requests`` request *if this package's client sent
    it* (its User-Agent carries ``qiskit-ionq-cancel/``): tests also send malformed requests on
    purpose, with other clients, and those must not count as the client's. Neither method
    ever raises: a problem, even a crash of the checker, is recorded for ``assert_clean``.
    """

    def __init__(self, contract: Contract | None = None) -> None:
        self.contract = contract or Contract.load()
        self._problems: list[str] = []
        self._lock = threading.Lock()
        self.answers_checked = 0
        self.answers_waived = 0
        self.requests_checked = 0

    @property
    def problems(self) -> list[str]:
        """Every problem recorded so far."""
        with self._lock:
            return list(self._problems)

    def clear(self) -> None:
        """Forget the problems recorded so far."""
        with self._lock:
            self._problems.clear()

    def _record(self, check: Callable[[], list[str]], what: str) -> None:
        try:
            found = check()
        except Exception as exc:  # the observer must never break the server
            found = [f"{what}: the contract check crashed: {type(exc).__name__}: {exc}"]
        with self._lock:
            self._problems += found

    def observe_answer(self, exchange: Exchange) -> None:
        """Check one emulator answer. A ``garbage`` fault is not JSON by design (a proxy's
        page) and is not checked, nor is an answer a setting of the emulator makes break the
        document on purpose (``exchange.off_contract``, counted in ``answers_waived``); any
        other injected fault must still carry IonQ's error body, only its status may be one
        the operation does not document."""
        fault = exchange.fault
        with self._lock:
            self.answers_checked += 1
            if exchange.off_contract is not None:
                self.answers_waived += 1
        if (fault is not None and fault.kind == "garbage") or exchange.off_contract is not None:
            return
        self._record(lambda: self.contract.check_response(
            exchange.method, exchange.target, exchange.status, exchange.headers,
            exchange.payload, injected=fault is not None),
            f"answer to {exchange.method} {exchange.target[:100]}")

    def observe_request(self, request: requests.PreparedRequest) -> None:
        """Check one request about to be sent, if this package's client sent it."""
        headers = request.headers
        if CLIENT_MARK not in str(headers.get("User-Agent", "")):
            return
        with self._lock:
            self.requests_checked += 1
        method, url = request.method or "", request.url or ""
        self._record(lambda: self.contract.check_request(method, url, dict(headers),
                                                         request.body),
                     f"request {method} {urlsplit(url).path[:100]}")

    def assert_clean(self) -> None:
        """Raise ``AssertionError`` listing every problem recorded, if any."""
        problems = self.problems
        if problems:
            shown = "\n  ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise AssertionError(f"{len(problems)} API contract violation(s):\n  {shown}{more}")
