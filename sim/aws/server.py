"""The WSGI layer in front of moto, and the process entry point.

SimApp handles /_sim/* itself; every other request is identified (service,
operation, access key from SigV4), may get a fault, is passed to moto under
the simulator lock, and is logged for GET /_sim/calls.
"""
import argparse
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from . import alarms, autoscaling, cbor, codedeploy_ecs, composite_alarms, control, cw_clock, ecr_layers, ecs_api, ecs_arns, ecs_rollouts, ecs_run_task, elb_health, faults, iam_policy, metrics, model_check, ssm_visibility, sts_trust, tag_visibility, validation
from .core import run_ticker, sim  # noqa: E402

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
MEMBER = re.compile(r"^(\w+)\.member\.(\d+)$")  # query protocol lists: AlarmNames.member.1
CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")  # smithy-rpc-v2-cbor (moto answers 404)
QUERY_COMPATIBLE = {"monitoring"}  # awsJson services that keep query-protocol error codes
READ_ONLY = ("Describe", "List", "Get", "BatchGet")


def identify(environ) -> dict:
    """service, operation and access key of an AWS call (the body is read and put back)."""
    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key, region, service = match.groups() if match else (None, None, None)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return {"service": service, "operation": target.rsplit(".", 1)[-1], "access_key": access_key,
                "region": region, "json": True}
    operation = parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]
    if operation is None and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        operation = parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]
    cbor = CBOR_PATH.match(environ.get("PATH_INFO", ""))
    if operation is None and cbor:
        operation = cbor.group(1)
    return {"service": service, "operation": operation, "access_key": access_key, "region": region, "json": False}


def params(environ, info) -> dict:
    """The call's parameters (awsJson body or query form, lists as lists); the body is put back."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    if info["json"]:
        try:
            return json.loads(body or b"{}")
        except ValueError:
            return {}
    form = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(body.decode("utf-8", "replace"))
    out: dict = {}
    for key, values in sorted(form.items()):
        member = MEMBER.match(key)
        if member:
            out.setdefault(member.group(1), []).append(values[0])
        else:
            out[key] = values[0]
    return out


class SimApp:
    def __init__(self):
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sim/"):
            return control.handle(environ, start_response)
        if path.startswith("/_blobs/"):  # ECR's presigned layer URLs (an S3 host in AWS)
            return ecr_layers.serve(environ, start_response)
        if path == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
            control.reset_all()  # moto's reset also clears simulator state
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok"}']
        if cbor.is_cbor(environ):
            return self.rpc_v2_cbor(environ, start_response)
        info = identify(environ)
        call = {"service": info["service"], "operation": info["operation"],
                "mutating": bool(info["operation"]) and not info["operation"].startswith(READ_ONLY),
                "access_key": info["access_key"], "at": time.time(), "status": None,
                "protocol": environ.get("sim.protocol") or ("json" if info["json"] else "query")}
        if info["operation"] is None:  # not an AWS API call (moto-api, dashboard, ...): pass through
            with sim.lock:
                return list(self.moto(environ, start_response))
        if iam_policy.enforced(info["access_key"]) or info["service"] in ("ecs", "elasticloadbalancing"):
            args = params(environ, info)
            with sim.lock:  # both read moto's backends
                refused = iam_policy.refusal(info, args, info["region"] or "us-east-1")
                if refused:
                    call["fault"] = "AccessDenied"
                else:
                    why = validation.problem(info, args)
                    refused = validation.refusal(info, why) if why else None
            if refused:
                status, headers, body = refused
                call["status"] = int(status.split()[0])
                call.setdefault("fault", "ValidationError")
                sim.log_call(call)
                start_response(status, headers + [("Content-Length", str(len(body)))])
                return [body]
        fault = faults.pick(info["service"], info["operation"], info["access_key"])
        call["fault"] = fault.kind if fault else None
        if fault and fault.kind == "latency":
            time.sleep(fault.latency_ms / 1000.0)
        elif fault and fault.kind == "drop":
            call["status"] = 0
            sim.log_call(call)
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("simulated drop")  # werkzeug treats it as a dropped connection
        elif fault:
            status, headers, body = faults.error_response(fault.kind, info["json"], info["service"] in QUERY_COMPATIBLE)
            call["status"] = int(status.split()[0])
            sim.log_call(call)
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]

        answer = {}

        def capture(status, headers, exc_info=None):
            call["status"] = int(status.split()[0])
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        args = params(environ, info) if info["service"] in ("ecs", "ssm") else {}
        with sim.lock:
            pending = tag_visibility.before_write(info, args)
            body = b"".join(self.moto(environ, capture))
            tag_visibility.after_write(info, pending, call["status"])
            body = tag_visibility.view(info, args, call["status"], body)
            ssm_visibility.after_write(info, args, call["status"], body)
            body = ssm_visibility.view(info, args, call["status"], body)
        sim.log_call(call)
        model_check.check(info, call["status"], answer.get("headers", []), body)
        headers = [(k, v) for k, v in answer.get("headers", []) if k.lower() != "content-length"]
        start_response(answer.get("status", "500 Internal Server Error"), headers + [("Content-Length", str(len(body)))])
        return [body]


    def rpc_v2_cbor(self, environ, start_response):
        """A Smithy RPCv2 CBOR call served as its awsJson 1.0 twin, and answered in CBOR."""
        service = cbor.PATH.match(environ["PATH_INFO"]).group(1)
        operation = cbor.to_json_request(environ)
        environ["sim.protocol"] = "rpc-v2-cbor"
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        body = b"".join(self(environ, capture))
        status, headers, out = cbor.to_cbor_answer(service, operation, answer["status"], answer["headers"], body)
        start_response(status, headers)
        return [out]


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would drown the test output
        pass


def install_patches() -> None:
    for module in (ecs_arns, ecs_api, codedeploy_ecs, ecs_run_task, autoscaling, sts_trust, elb_health, metrics, cw_clock, alarms, composite_alarms, ecr_layers):
        module.install()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sim.aws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--no-stdin-watch", action="store_true",
                        help="do not exit when stdin reaches EOF (for running in the background by hand)")
    args = parser.parse_args(argv)

    sim.start_time_scale = args.time_scale
    sim.reset()
    install_patches()
    server = make_server(args.host, args.port, SimApp(), threaded=True, request_handler=QuietHandler)
    stop = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True, name="http").start()
    steps = (ecs_rollouts.tick, ecs_run_task.tick, elb_health.tick, metrics.tick, cw_clock.tick, alarms.tick)
    threading.Thread(target=run_ticker, args=(stop, steps), daemon=True, name="ticker").start()
    if not args.no_stdin_watch:
        def watch_stdin():  # os.read: a buffered reader's lock would abort interpreter shutdown
            try:
                while os.read(0, 65536):
                    pass
            except OSError:  # no stdin at all counts as EOF
                pass
            stop.set()
        threading.Thread(target=watch_stdin, daemon=True, name="stdin").start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    print(f"READY http://{args.host}:{server.server_port}", flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    sys.stdout.flush()
    os._exit(0)  # daemon threads (requests, ticker, stdin) need no orderly teardown
