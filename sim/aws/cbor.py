"""Smithy RPCv2 CBOR, the protocol of current CloudWatch SDKs, translated to and from the
awsJson 1.0 protocol that moto answers for the same service.

A request `POST /service/<ServiceShape>/operation/<Operation>` with `smithy-protocol:
rpc-v2-cbor` and a CBOR body becomes `POST /` with `X-Amz-Target: <ServiceShape>.<Operation>`
and the same members as JSON; the JSON answer (or error) goes back as CBOR with
`smithy-protocol: rpc-v2-cbor`. Timestamps are CBOR tag 1 (epoch seconds) both ways, and
numbers take the type the service model gives them. Source: Smithy's "RPC v2 CBOR protocol"
specification (smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html): the URL, the
`smithy-protocol` header, `application/cbor`, errors as a map with `__type`, timestamps as tag 1.
"""
import datetime
import io
import json
import re

import botocore.session
import cbor2

PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")
MODELS = {"GraniteServiceVersion20100801": "cloudwatch"}
_session = botocore.session.get_session()


def is_cbor(environ) -> bool:
    return bool(PATH.match(environ.get("PATH_INFO", ""))) and \
        environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor"


def to_json_request(environ) -> str:
    """Rewrites the WSGI environ in place into the awsJson 1.0 call; returns the operation."""
    service, operation = PATH.match(environ["PATH_INFO"]).groups()
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    members = cbor2.loads(raw) if raw else {}
    body = json.dumps(_jsonable(members or {})).encode()
    environ.update({
        "PATH_INFO": "/", "HTTP_X_AMZ_TARGET": f"{service}.{operation}", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-amz-json-1.0",
    })
    return operation


def _jsonable(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    return value


def to_cbor_answer(service: str, operation: str, status: str, headers: list, body: bytes):
    """The JSON answer as RPCv2 CBOR: (status, headers, body)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    if status.startswith("2"):
        model = _session.get_service_model(MODELS.get(service, "cloudwatch"))
        shape = model.operation_model(operation).output_shape
        data = _typed(data, shape) if shape is not None else {}
    out = cbor2.dumps(data, datetime_as_timestamp=True, timezone=datetime.timezone.utc)
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
    return status, kept + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                           ("Content-Length", str(len(out)))], out


def _typed(value, shape):
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _typed(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if kind == "list" and isinstance(value, list):
        return [_typed(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _typed(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        if isinstance(value, str):
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind in ("double", "float") and isinstance(value, (int, float)):
        return float(value)
    if kind in ("integer", "long") and isinstance(value, (int, float)):
        return int(value)
    return value
