"""GitHub's OpenAPI description: example templates and (best-effort) schema checks.

The fake builds every response from the spec's own example for the operation,
overlaid with real state, so all required fields exist. prism is the authority
on validity; `Spec.check_response` only adds detail when prism reports a
violation without one (with `--errors`, prism logs just "Request/Response not
valid").
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

SIM_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = SIM_DIR / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"


def spec_path() -> Path:
    return Path(os.environ.get("GITHUB_FAKE_SPEC", str(DEFAULT_SPEC)))


class Spec:
    def __init__(self, path: Path | None = None):
        self.path = Path(path or spec_path())
        with open(self.path, "rb") as f:
            self.doc = json.load(f)
        self.ops: dict[str, tuple[str, str, dict]] = {}
        for p, item in self.doc["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self.ops[op["operationId"]] = (method.upper(), p, op)
        # (segment count, regex, method, operationId); literal segments first, as prism routes
        self._routes: list[tuple[int, re.Pattern, str, str]] = []
        for oid, (method, p, _) in self.ops.items():
            segs = p.strip("/").split("/")
            rx = "/" + "/".join("[^/]+" if x.startswith("{") else re.escape(x) for x in segs)
            self._routes.append((sum(x.startswith("{") for x in segs), re.compile(rx + "$"), method, oid))
        self._routes.sort(key=lambda r: r[0])
        self._validator_lock = threading.Lock()
        self._registry = None

    def operation_for(self, method: str, path: str) -> str | None:
        """The operationId a request (raw, percent-encoded path) is routed to, if any."""
        for _, rx, m, oid in self._routes:
            if m == method and rx.match(path):
                return oid
        return None

    # -- references -----------------------------------------------------
    def deref(self, obj: Any) -> Any:
        while isinstance(obj, dict) and "$ref" in obj:
            node: Any = self.doc
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
        return obj

    def response(self, operation_id: str, status: int) -> dict | None:
        _, _, op = self.ops[operation_id]
        r = op["responses"].get(str(status))
        return self.deref(r) if r is not None else None

    def example(self, operation_id: str, status: int) -> Any:
        """A deep copy of the first example of the operation's JSON response."""
        resp = self.response(operation_id, status)
        if resp is None:
            raise KeyError(f"{operation_id} has no {status} response")
        content = resp["content"]["application/json"]
        if "examples" in content:
            ex = self.deref(next(iter(content["examples"].values())))
            return copy.deepcopy(ex["value"])
        return copy.deepcopy(content["example"])

    def item_example(self, operation_id: str, status: int = 200) -> Any:
        """For list operations: a deep copy of the example's first item."""
        ex = self.example(operation_id, status)
        return copy.deepcopy(ex[0])

    def component_example(self, name: str) -> Any:
        return copy.deepcopy(self.doc["components"]["examples"][name]["value"])

    # -- schema checks (detail only) ------------------------------------
    def _fix_refs(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: ("urn:gh" + v if k == "$ref" and isinstance(v, str) else self._fix_refs(v)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._fix_refs(x) for x in obj]
        return obj

    def check_response(self, operation_id: str, status: int, body: Any) -> list[str]:
        """Best-effort list of schema problems of a response body.

        openapi-schema-validator is stricter than prism (ajv) in one known way:
        `nullable: true` together with `enum` rejects null (e.g. a check run's
        `conclusion: null`). Those are filtered out.
        """
        try:
            from openapi_schema_validator import OAS30Validator
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT4
        except Exception as e:  # pragma: no cover - optional dependency
            return [f"(python schema check unavailable: {e})"]
        resp = self.response(operation_id, status)
        if resp is None:
            declared = ",".join(self.ops[operation_id][2]["responses"].keys())
            return [f"status {status} is not declared (declared: {declared})"]
        content = (resp.get("content") or {}).get("application/json")
        if not content:
            return []
        with self._validator_lock:
            if self._registry is None:
                self._registry = Registry().with_resource(
                    "urn:gh", Resource.from_contents(self.doc, default_specification=DRAFT4)
                )
        v = OAS30Validator(self._fix_refs(content["schema"]), registry=self._registry,
                           format_checker=_format_checker())
        out = []
        for e in v.iter_errors(body):
            if e.instance is None and e.validator == "enum":
                continue
            loc = "/".join(str(p) for p in e.absolute_path)
            out.append(f"{loc or '(root)'}: {e.message[:300]}")
        return out[:50]


def _format_checker():
    """The formats prism (ajv-formats) enforces and GitHub's responses use."""
    from jsonschema import FormatChecker

    fc = FormatChecker(formats=())

    @fc.checks("uri")
    def _uri(value) -> bool:
        return not isinstance(value, str) or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$", value))

    @fc.checks("date-time")
    def _dt(value) -> bool:
        return not isinstance(value, str) or bool(
            re.match(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$", value))

    return fc


_SPEC: Spec | None = None
_SPEC_LOCK = threading.Lock()


def get_spec() -> Spec:
    global _SPEC
    with _SPEC_LOCK:
        if _SPEC is None:
            _SPEC = Spec()
        return _SPEC
