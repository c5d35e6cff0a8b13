"""A stateful fake of the GitHub REST endpoints the action uses.

Every response body starts as the spec's own example for the operation and is
overlaid with real state, so the fields GitHub's schema requires are present.
prism (`prism proxy`) sits in front of this app and validates requests and
responses against the spec; see __main__.py.

Control API (never proxied, only on the fake's own port): /_fake/...
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote, urlencode

from flask import Flask, Response, g, request

from .spec import Spec

DOCS = "https://docs.github.com/rest"
HTML = "https://github.com"
HEX = re.compile(r"^[0-9a-f]{7,40}$")
TRIGGER_AUTO_INACTIVE = {"success", "in_progress"}
ID_BASE = {
    "check_run": 1_000_000,
    "check_suite": 1_500_000,
    "comment": 2_000_000,
    "deployment": 3_000_000,
    "deployment_status": 4_000_000,
    "environment": 5_000_000,
    "rule": 5_500_000,
    "pull": 6_000_000,
    "user": 7_000_000,
    "team": 7_500_000,
    "app": 8_000_000,
}
DEFAULT_ACTOR = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
MAX_BODY = 65536


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, n: int) -> str:
    return base64.b64encode(f"{kind}{n}".encode()).decode()


def public(obj: dict) -> dict:
    """The response copy of a stored object: top-level keys starting with '_' are internal."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


class GitHubError(Exception):
    def __init__(self, status: int, message: str, errors: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def validation_failed(resource: str, field: str, message: str) -> GitHubError:
    return GitHubError(422, "Validation Failed",
                       [{"resource": resource, "code": "custom", "field": field, "message": message}])


class Repo:
    def __init__(self, owner: str, name: str):
        self.owner, self.name = owner, name
        self.check_runs: dict[int, dict] = {}
        self.check_suites: dict[str, int] = {}  # head_sha -> suite id
        self.comments: dict[int, dict] = {}
        self.deployments: dict[int, dict] = {}
        self.statuses: dict[int, list[dict]] = {}  # deployment id -> statuses (oldest first)
        self.environments: dict[str, dict] = {}  # name -> seed config (+ _id, _created_at)
        self.pulls: dict[int, dict] = {}  # number -> seed config (+ _id)
        self.commit_pulls: dict[str, list[int]] = {}
        self.refs: dict[str, str] = {}  # branch/ref name -> sha
        self.tags: list[dict] = []  # {"name", "sha"}
        self.pending_deployments: dict[str, list] = {}  # run id -> seed entries

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class State:
    """All fake state. Guarded by `lock`; handlers run under it."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.lock = threading.RLock()
        self.api_base = ""  # public base URL (prism) used in response links; set by __main__
        self.log_barrier = lambda: None  # set by __main__: waits until prism's log is parsed
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.repos: dict[str, Repo] = {}
            self.counters = dict(ID_BASE)
            self.expected_token: str | None = None
            self.actor = dict(DEFAULT_ACTOR)
            self.users: dict[str, int] = {}
            self.faults: list[dict] = []
            self.requests: list[dict] = []
            self.violations: list[dict] = []
            self.seq = 0

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def repo(self, owner: str, name: str) -> Repo:
        key = f"{owner}/{name}".lower()
        if key not in self.repos:
            self.repos[key] = Repo(owner, name)
        return self.repos[key]

    def api(self, path: str) -> str:
        return (self.api_base or request.host_url).rstrip("/") + path

    # -- users and teams built from spec examples ------------------------
    def user_obj(self, login: str, uid: int | None = None, utype: str = "User") -> dict:
        if uid is None:
            if login not in self.users:
                self.users[login] = self.next_id("user")
            uid = self.users[login]
        u = self.spec.component_example("issue-comment")["user"]
        api_u = f"https://api.github.com/users/{quote(login)}"
        u.update({
            "login": login, "id": uid, "node_id": node_id("04:User", uid), "type": utype,
            "url": api_u, "html_url": f"{HTML}/{quote(login)}",
            "followers_url": f"{api_u}/followers", "following_url": f"{api_u}/following{{/other_user}}",
            "gists_url": f"{api_u}/gists{{/gist_id}}", "starred_url": f"{api_u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api_u}/subscriptions", "organizations_url": f"{api_u}/orgs",
            "repos_url": f"{api_u}/repos", "events_url": f"{api_u}/events{{/privacy}}",
            "received_events_url": f"{api_u}/received_events",
        })
        return u

    def actor_obj(self) -> dict:
        a = self.actor
        return self.user_obj(a.get("login", DEFAULT_ACTOR["login"]), a.get("id"), a.get("type", "User"))

    def team_obj(self, owner: str, seed: dict) -> dict:
        t = self.spec.component_example("pending-deployment-items")[0]["reviewers"][1]["reviewer"]
        slug = seed.get("slug") or seed.get("name", "team").lower().replace(" ", "-")
        tid = seed.get("id") or self.next_id("team")
        t.update({
            "id": tid, "node_id": node_id("04:Team", tid), "slug": slug, "name": seed.get("name", slug),
            "url": f"https://api.github.com/teams/{tid}", "html_url": f"{HTML}/orgs/{owner}/teams/{slug}",
            "members_url": f"https://api.github.com/teams/{tid}/members{{/member}}",
            "repositories_url": f"https://api.github.com/teams/{tid}/repos",
            # the spec example lacks `type`, which the `team` schema requires
            "type": "organization",
        })
        return t

    def reviewer_objs(self, owner: str, seeds: list) -> list[dict]:
        out = []
        for s in seeds or []:
            if isinstance(s, str):
                s = {"type": "User", "login": s}
            if s.get("type", "User") == "Team":
                out.append({"type": "Team", "reviewer": self.team_obj(owner, s)})
            else:
                out.append({"type": "User", "reviewer": self.user_obj(s["login"], s.get("id"))})
        return out

    # -- refs ---------------------------------------------------------------
    def resolve_ref(self, repo: Repo, ref: str) -> str | None:
        r = ref
        for prefix in ("refs/heads/", "refs/tags/"):
            if r.startswith(prefix):
                r = r[len(prefix):]
        if r in repo.refs:
            return repo.refs[r]
        for t in repo.tags:
            if t["name"] == r:
                return t["sha"]
        for p in sorted(repo.pulls.values(), key=lambda p: -p["number"]):
            if p.get("head_ref") == r:
                return p.get("head_sha")
        m = re.fullmatch(r"pull/(\d+)/(head|merge)", r)
        if m and int(m.group(1)) in repo.pulls:
            p = repo.pulls[int(m.group(1))]
            return p.get("head_sha") if m.group(2) == "head" else p.get("merge_commit_sha") or p.get("head_sha")
        if HEX.match(r):
            return r
        return None

    # -- violations (called from the prism log reader) ------------------------
    def add_violation(self, v: dict) -> None:
        with self.lock:
            rec = None
            if v.get("method") and v.get("path"):
                for r in reversed(self.requests):
                    if r["method"] == v["method"] and r["path"] == unquote(v["path"]):
                        rec = r
                        break
            elif self.requests:
                rec = self.requests[-1]
            # prism's own rejections (prism_error set) never reached the fake: don't correlate those
            if rec is not None and (v.get("kind") == "response" or not v.get("prism_error")):
                v["request_seq"] = rec["seq"]
                v["status"] = rec["status"]
                v.setdefault("method", rec["method"])
                v.setdefault("path", rec["path"])
                v["operation"] = rec.get("operation")
                v["_response"] = rec.get("response")
            v["seq"] = len(self.violations) + 1
            self.violations.append(v)

    def violations_view(self) -> list[dict]:
        out = []
        with self.lock:
            items = list(self.violations)
        for v in items:
            v = dict(v)
            resp = v.pop("_response", None)
            if v.get("kind") == "response" and v.get("operation") and "details" not in v and v.get("prism_error"):
                try:
                    v["details"] = self.spec.check_response(v["operation"], v["status"], resp)
                except Exception as e:  # pragma: no cover
                    v["details"] = [f"(python schema check failed: {e})"]
            out.append(v)
        return out


# ---------------------------------------------------------------------------
# request helpers


def page_args() -> tuple[int, int]:
    try:
        per_page = max(1, min(100, int(request.args.get("per_page", 30))))
    except ValueError:
        per_page = 30
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    return per_page, page


def paginate(st: State, items: list) -> tuple[list, dict]:
    per_page, page = page_args()
    total = len(items)
    last = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    links = []

    def link(p: int, rel: str) -> str:
        q = {k: v for k, v in request.args.items()}
        q["page"] = str(p)
        q["per_page"] = str(per_page)
        return f'<{st.api(request.path)}?{urlencode(q)}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    return chunk, ({"Link": ", ".join(links)} if links else {})


def body_json() -> dict:
    b = request.get_json(silent=True, force=True)
    return b if isinstance(b, dict) else {}


def as_bool(v: Any, default: bool) -> bool:
    return default if v is None else bool(v)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    r = Response(json.dumps(body), status=status, mimetype="application/json")
    r.headers["Content-Type"] = "application/json; charset=utf-8"
    r.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
    r.headers["X-GitHub-Request-Id"] = f"FAKE:{getattr(g, 'rec', {}).get('seq', 0)}"
    for k, v in (headers or {}).items():
        r.headers[k] = v
    return r


def error_response(status: int, message: str, errors: list | None = None, headers: dict | None = None) -> Response:
    body: dict = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors:
        body["errors"] = errors
    return json_response(body, status, headers)


# ---------------------------------------------------------------------------
# the app


def create_app(spec: Spec) -> tuple[Flask, State]:
    app = Flask("github_fake")
    st = State(spec)
    ex = spec

    # ---- cross-cutting: request log, auth, faults --------------------------
    @app.before_request
    def _before():
        if request.path.startswith("/_fake"):
            return None
        if request.path.startswith("/__github_fake_barrier__/"):  # prism log barrier, see prism.py
            return Response(status=404)
        raw = request.get_data(cache=True)
        body: Any = None
        raw_text = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raw_text = raw.decode("utf-8", "replace")[:10000]
        auth = request.headers.get("Authorization", "")
        m = re.match(r"^(Bearer|token)\s+(\S+)\s*$", auth, re.I)
        with st.lock:
            st.seq += 1
            rec = {
                "seq": st.seq,
                "time": time.time(),
                "method": request.method,
                "path": request.path,
                "query": {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()},
                "body": body,
                "auth": {
                    "present": bool(auth),
                    "scheme": m.group(1) if m else None,
                    "matches_expected": (m is not None and m.group(2) == st.expected_token)
                    if st.expected_token is not None else None,
                },
                "headers": {k.lower(): request.headers[k] for k in
                            ("User-Agent", "Accept", "Content-Type", "X-GitHub-Api-Version") if k in request.headers},
                "operation": st.spec.operation_for(request.method, request.environ.get("RAW_URI", request.path).split("?")[0]),
                "fault": None,
                "status": None,
                "response": None,
            }
            if raw_text is not None:
                rec["raw_body"] = raw_text
            g.rec = rec
            expected = st.expected_token
        if not m:
            return error_response(401, "Requires authentication")
        if expected is not None and m.group(2) != expected:
            return error_response(401, "Bad credentials")
        fault = None
        with st.lock:
            for i, f in enumerate(st.faults):
                if f.get("count") is not None and f["count"] <= 0:
                    continue
                meth = (f.get("method") or "*").upper()
                if meth not in ("*", request.method):
                    continue
                if f.get("path_regex") and not re.search(f["path_regex"], request.path):
                    continue
                if f.get("count") is not None:
                    f["count"] -= 1
                f["hits"] = f.get("hits", 0) + 1
                fault = dict(f)
                rec["fault"] = i
                break
        if fault is None:
            return None
        if fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)
        status = fault.get("status")
        if not status:
            return None
        headers = dict(fault.get("headers") or {})
        retry_after = fault.get("retry_after")
        if status == 429 and retry_after is None:
            retry_after = 1
        if retry_after is not None:
            headers.setdefault("Retry-After", str(retry_after))
        if status == 429 or fault.get("rate_limited"):
            headers.setdefault("X-RateLimit-Remaining", "0")
            headers.setdefault("X-RateLimit-Reset", str(int(time.time()) + int(retry_after or 60)))
        if "body" in fault:
            return json_response(fault["body"], status, headers)
        default_msg = {
            403: "Resource not accessible by integration",
            429: "API rate limit exceeded",
            500: "Server Error",
            502: "Server Error",
            503: "Service Unavailable",
        }.get(status, "Fault injected")
        return error_response(status, fault.get("message") or default_msg, headers=headers)

    @app.after_request
    def _after(resp: Response):
        rec = getattr(g, "rec", None)
        if rec is not None:
            rec["status"] = resp.status_code
            try:
                rec["response"] = json.loads(resp.get_data()) if resp.get_data() else None
            except ValueError:
                rec["response"] = resp.get_data(as_text=True)[:2000]
            with st.lock:
                st.requests.append(rec)
        return resp

    @app.errorhandler(GitHubError)
    def _gh_error(e: GitHubError):
        return error_response(e.status, e.message, e.errors, e.headers)

    @app.errorhandler(404)
    def _unknown(e):
        if request.path.startswith("/_fake"):
            return error_response(404, "unknown control endpoint")
        if hasattr(g, "rec"):
            g.rec["unimplemented"] = True
        return error_response(404, f"Not Found (the GitHub fake does not implement {request.method} {request.path})")

    @app.errorhandler(405)
    def _method(e):
        if hasattr(g, "rec"):
            g.rec["unimplemented"] = True
        return error_response(404, "Not Found")

    def op(operation_id: str):
        g.rec["operation"] = operation_id

    # ---- check runs ---------------------------------------------------------
    def suite_id(repo: Repo, sha: str) -> int:
        if sha not in repo.check_suites:
            repo.check_suites[sha] = st.next_id("check_suite")
        return repo.check_suites[sha]

    def minimal_prs(repo: Repo, sha: str) -> list:
        out = []
        tmpl = ex.component_example("check-run")["pull_requests"][0]
        for p in sorted(repo.pulls.values(), key=lambda p: p["number"]):
            if p.get("head_sha") != sha or p.get("state", "open") != "open":
                continue
            m = copy.deepcopy(tmpl)
            rid = 1
            repo_ref = {"id": rid, "url": st.api(f"/repos/{repo.full_name}"), "name": repo.name}
            m.update({"url": st.api(f"/repos/{repo.full_name}/pulls/{p['number']}"), "id": p["_id"],
                      "number": p["number"],
                      "head": {"ref": p.get("head_ref", ""), "sha": p.get("head_sha", ""), "repo": repo_ref},
                      "base": {"ref": p.get("base_ref", "main"), "sha": p.get("base_sha", "0" * 40),
                               "repo": dict(repo_ref)}})
            out.append(m)
        return out

    def apply_check_run_fields(cr: dict, b: dict) -> None:
        for k in ("name", "details_url", "external_id", "started_at"):
            if k in b:
                cr[k] = b[k]
        if "status" in b:
            cr["status"] = b["status"]
        if b.get("conclusion") is not None:
            cr["conclusion"] = b["conclusion"]
            cr["status"] = "completed"
        if cr["status"] == "completed":
            if cr.get("conclusion") is None:
                raise GitHubError(422, "Invalid request.\n\nNo conclusion provided.")
            cr["completed_at"] = b.get("completed_at") or cr.get("completed_at") or now()
        elif "completed_at" in b:
            cr["completed_at"] = b["completed_at"]
        out = b.get("output")
        if isinstance(out, dict):
            for k in ("summary", "text"):
                if isinstance(out.get(k), str) and len(out[k]) > MAX_BODY - 1:
                    raise validation_failed("CheckRun", f"output.{k}",
                                            f"Output {k} is too long (maximum is 65535 characters)")
            o = cr["output"]
            for k in ("title", "summary", "text"):
                if k in out:
                    o[k] = out[k]
            anns = out.get("annotations") or []
            cr["_annotations"].extend(anns)
            o["annotations_count"] = len(cr["_annotations"])
        if "actions" in b:
            cr["_actions"] = b["actions"]

    @app.post("/repos/<owner>/<name>/check-runs")
    def create_check_run(owner, name):
        op("checks/create")
        b = body_json()
        with st.lock:
            repo = st.repo(owner, name)
            cid = st.next_id("check_run")
            cr = ex.component_example("check-run")
            url = st.api(f"/repos/{repo.full_name}/check-runs/{cid}")
            html = f"{HTML}/{repo.full_name}/runs/{cid}"
            cr.update({
                "id": cid, "node_id": node_id("08:CheckRun", cid), "head_sha": b.get("head_sha", ""),
                "external_id": "", "url": url, "html_url": html, "details_url": html,
                "status": "queued", "conclusion": None, "started_at": now(), "completed_at": None,
                "name": b.get("name", ""), "check_suite": {"id": suite_id(repo, b.get("head_sha", ""))},
                "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                           "annotations_url": f"{url}/annotations"},
                "pull_requests": minimal_prs(repo, b.get("head_sha", "")),
                "_annotations": [],
            })
            cr.pop("deployment", None)
            apply_check_run_fields(cr, b)
            repo.check_runs[cid] = cr
            return json_response(public(cr), 201)

    def get_cr(owner, name, cid) -> tuple[Repo, dict]:
        repo = st.repo(owner, name)
        cr = repo.check_runs.get(cid)
        if cr is None:
            raise not_found()
        return repo, cr

    @app.patch("/repos/<owner>/<name>/check-runs/<int:cid>")
    def update_check_run(owner, name, cid):
        op("checks/update")
        b = body_json()
        with st.lock:
            _, cr = get_cr(owner, name, cid)
            trial = copy.deepcopy(cr)
            apply_check_run_fields(trial, b)  # raises before mutating on 422
            cr.clear()
            cr.update(trial)
            return json_response(public(cr))

    @app.get("/repos/<owner>/<name>/check-runs/<int:cid>")
    def get_check_run(owner, name, cid):
        op("checks/get")
        with st.lock:
            _, cr = get_cr(owner, name, cid)
            return json_response(public(cr))

    @app.get("/repos/<owner>/<name>/commits/<path:ref>/check-runs")
    def list_check_runs_for_ref(owner, name, ref):
        op("checks/list-for-ref")
        with st.lock:
            repo = st.repo(owner, name)
            sha = st.resolve_ref(repo, ref)
            if sha is None:
                raise GitHubError(422, f"No commit found for SHA: {ref}")
            runs = [c for c in repo.check_runs.values() if c["head_sha"] == sha or
                    (len(sha) < 40 and c["head_sha"].startswith(sha))]
            if request.args.get("check_name"):
                runs = [c for c in runs if c["name"] == request.args["check_name"]]
            if request.args.get("status"):
                runs = [c for c in runs if c["status"] == request.args["status"]]
            runs.sort(key=lambda c: -c["id"])
            if request.args.get("filter", "latest") == "latest":
                seen, latest = set(), []
                for c in runs:
                    if c["name"] not in seen:
                        seen.add(c["name"])
                        latest.append(c)
                runs = latest
            chunk, headers = paginate(st, runs)
            return json_response({"total_count": len(runs), "check_runs": [public(c) for c in chunk]},
                                 headers=headers)

    # ---- issue comments -------------------------------------------------------
    def check_comment_body(b: dict) -> str:
        body = b.get("body")
        if not isinstance(body, str):
            raise validation_failed("IssueComment", "body", "body wasn't supplied.")
        if len(body) > MAX_BODY:
            raise validation_failed("IssueComment", "data", "Body is too long (maximum is 65536 characters)")
        return body

    def add_comment(repo: Repo, number: int, body: str, user: dict | None = None) -> dict:
        cid = st.next_id("comment")
        c = ex.component_example("issue-comment")
        kind = "pull" if number in repo.pulls else "issues"
        ts = now()
        c.update({
            "id": cid, "node_id": node_id("012:IssueComment", cid),
            "url": st.api(f"/repos/{repo.full_name}/issues/comments/{cid}"),
            "html_url": f"{HTML}/{repo.full_name}/{kind}/{number}#issuecomment-{cid}",
            "body": body, "user": user or st.actor_obj(), "created_at": ts, "updated_at": ts,
            "issue_url": st.api(f"/repos/{repo.full_name}/issues/{number}"),
            "author_association": "NONE" if (user or st.actor).get("type") == "Bot" else "COLLABORATOR",
            "_issue": number,
        })
        repo.comments[cid] = c
        return c

    @app.get("/repos/<owner>/<name>/issues/<int:number>/comments")
    def list_comments(owner, name, number):
        op("issues/list-comments")
        with st.lock:
            repo = st.repo(owner, name)
            items = sorted((c for c in repo.comments.values() if c["_issue"] == number), key=lambda c: c["id"])
            since = request.args.get("since")
            if since:
                items = [c for c in items if c["updated_at"] >= since]
            chunk, headers = paginate(st, items)
            return json_response([public(c) for c in chunk], headers=headers)

    @app.post("/repos/<owner>/<name>/issues/<int:number>/comments")
    def create_comment(owner, name, number):
        op("issues/create-comment")
        b = body_json()
        with st.lock:
            c = add_comment(st.repo(owner, name), number, check_comment_body(b))
            return json_response(public(c), 201, {"Location": c["url"]})

    def get_comment_obj(owner, name, cid) -> dict:
        c = st.repo(owner, name).comments.get(cid)
        if c is None:
            raise not_found()
        return c

    @app.patch("/repos/<owner>/<name>/issues/comments/<int:cid>")
    def update_comment(owner, name, cid):
        op("issues/update-comment")
        b = body_json()
        with st.lock:
            c = get_comment_obj(owner, name, cid)
            c["body"] = check_comment_body(b)
            c["updated_at"] = now()
            return json_response(public(c))

    @app.get("/repos/<owner>/<name>/issues/comments/<int:cid>")
    def get_comment(owner, name, cid):
        op("issues/get-comment")
        with st.lock:
            return json_response(public(get_comment_obj(owner, name, cid)))

    # ---- deployments ------------------------------------------------------------
    def ensure_env(repo: Repo, env: str) -> dict:
        if env not in repo.environments:
            repo.environments[env] = {}
        e = repo.environments[env]
        if "_id" not in e:
            e["_id"] = st.next_id("environment")
            e["_created_at"] = now()
        return e

    def add_deployment(repo: Repo, b: dict) -> dict:
        did = st.next_id("deployment")
        ref = b["ref"]
        env = b.get("environment") or "production"
        sha = st.resolve_ref(repo, ref)
        if sha is None or len(sha) < 40:
            sha = hashlib.sha1(f"{repo.full_name}:{ref}".encode()).hexdigest() if sha is None else sha
        ts = now()
        d = ex.component_example("deployment")
        url = st.api(f"/repos/{repo.full_name}/deployments/{did}")
        d.update({
            "url": url, "id": did, "node_id": node_id("010:Deployment", did), "sha": sha, "ref": ref,
            "task": b.get("task") or "deploy", "payload": b.get("payload", {}),
            "original_environment": env, "environment": env,
            "description": b.get("description", ""), "creator": st.actor_obj(),
            "created_at": ts, "updated_at": ts, "statuses_url": f"{url}/statuses",
            "repository_url": st.api(f"/repos/{repo.full_name}"),
            "transient_environment": as_bool(b.get("transient_environment"), False),
            "production_environment": as_bool(b.get("production_environment"), env == "production"),
            "_required_contexts": b.get("required_contexts"),
            "_auto_merge": b.get("auto_merge"),
        })
        if isinstance(d["payload"], str):
            try:
                parsed = json.loads(d["payload"]) if d["payload"] else {}
                d["payload"] = parsed if isinstance(parsed, dict) else d["payload"]
            except ValueError:
                pass
        repo.deployments[did] = d
        repo.statuses[did] = []
        ensure_env(repo, env)
        return d

    def add_status(repo: Repo, d: dict, b: dict) -> dict:
        state = b["state"]
        desc = b.get("description", "")
        if isinstance(desc, str) and len(desc) > 140:
            raise validation_failed("DeploymentStatus", "description",
                                    "description is too long (maximum is 140 characters)")
        prev = repo.statuses[d["id"]]
        env = b.get("environment") or (prev[-1]["environment"] if prev else d["environment"])
        if b.get("environment"):
            d["environment"] = env
            ensure_env(repo, env)
        sid = st.next_id("deployment_status")
        s = ex.component_example("deployment-status")
        log_url = b.get("log_url", b.get("target_url", ""))
        target_url = b.get("target_url", log_url) if "log_url" not in b else b["log_url"]
        ts = now()
        s.update({
            "url": f"{d['url']}/statuses/{sid}", "id": sid, "node_id": node_id("016:DeploymentStatus", sid),
            "state": state, "creator": st.actor_obj(), "description": desc, "environment": env,
            "target_url": target_url, "log_url": log_url, "created_at": ts, "updated_at": ts,
            "deployment_url": d["url"], "repository_url": d["repository_url"],
            "environment_url": b.get("environment_url", ""),
        })
        # GitHub answers "" for URLs that were not given, but the spec says `format: uri`, so prism
        # (with --errors) would turn that into a 500. Stay spec-valid: drop the optional ones and
        # point the required target_url at the deployment itself.
        for k in ("log_url", "environment_url"):
            if not s[k]:
                del s[k]
        if not s["target_url"]:
            s["target_url"] = d["url"]
        prev.append(s)
        d["updated_at"] = ts
        if state in TRIGGER_AUTO_INACTIVE and as_bool(b.get("auto_inactive"), True):
            for other in repo.deployments.values():
                if other["id"] >= d["id"] or other["environment"] != env:
                    continue
                ost = repo.statuses[other["id"]]
                if ost and ost[-1]["state"] == "success":
                    add_status(repo, other, {"state": "inactive", "auto_inactive": False})
        return s

    @app.post("/repos/<owner>/<name>/deployments")
    def create_deployment(owner, name):
        op("repos/create-deployment")
        b = body_json()
        with st.lock:
            d = add_deployment(st.repo(owner, name), b)
            return json_response(public(d), 201)

    @app.get("/repos/<owner>/<name>/deployments")
    def list_deployments(owner, name):
        op("repos/list-deployments")
        with st.lock:
            repo = st.repo(owner, name)
            items = sorted(repo.deployments.values(), key=lambda d: -d["id"])
            for k in ("sha", "ref", "task", "environment"):
                v = request.args.get(k)
                if v not in (None, "", "none"):
                    items = [d for d in items if d[k] == v]
            chunk, headers = paginate(st, items)
            return json_response([public(d) for d in chunk], headers=headers)

    def get_dep(owner, name, did) -> tuple[Repo, dict]:
        repo = st.repo(owner, name)
        d = repo.deployments.get(did)
        if d is None:
            raise not_found()
        return repo, d

    @app.get("/repos/<owner>/<name>/deployments/<int:did>")
    def get_deployment(owner, name, did):
        op("repos/get-deployment")
        with st.lock:
            return json_response(public(get_dep(owner, name, did)[1]))

    @app.post("/repos/<owner>/<name>/deployments/<int:did>/statuses")
    def create_deployment_status(owner, name, did):
        op("repos/create-deployment-status")
        b = body_json()
        with st.lock:
            repo, d = get_dep(owner, name, did)
            return json_response(public(add_status(repo, d, b)), 201)

    @app.get("/repos/<owner>/<name>/deployments/<int:did>/statuses")
    def list_deployment_statuses(owner, name, did):
        op("repos/list-deployment-statuses")
        with st.lock:
            repo, d = get_dep(owner, name, did)
            chunk, headers = paginate(st, list(reversed(repo.statuses[did])))
            return json_response([public(s) for s in chunk], headers=headers)

    @app.get("/repos/<owner>/<name>/deployments/<int:did>/statuses/<int:sid>")
    def get_deployment_status(owner, name, did, sid):
        op("repos/get-deployment-status")
        with st.lock:
            repo, d = get_dep(owner, name, did)
            for s in repo.statuses[did]:
                if s["id"] == sid:
                    return json_response(public(s))
            raise not_found()

    # ---- environments -------------------------------------------------------------
    def env_obj(repo: Repo, env_name: str, e: dict) -> dict:
        o = ex.component_example("environment")
        enc = quote(env_name, safe="")
        o.update({
            "id": e["_id"], "node_id": node_id("011:Environment", e["_id"]), "name": env_name,
            "url": st.api(f"/repos/{repo.full_name}/environments/{enc}"),
            "html_url": f"{HTML}/{repo.full_name}/deployments/activity_log?environments_filter={enc}",
            "created_at": e["_created_at"], "updated_at": e["_created_at"],
        })
        if "protection_rules" in e:
            o["protection_rules"] = copy.deepcopy(e["protection_rules"])
        else:
            rules = []
            if e.get("wait_timer"):
                rid = e.setdefault("_wait_rule_id", st.next_id("rule"))
                rules.append({"id": rid, "node_id": node_id("04:Gate", rid), "type": "wait_timer",
                              "wait_timer": int(e["wait_timer"])})
            if e.get("required_reviewers"):
                rid = e.setdefault("_review_rule_id", st.next_id("rule"))
                rules.append({"id": rid, "node_id": node_id("04:Gate", rid),
                              "prevent_self_review": bool(e.get("prevent_self_review", False)),
                              "type": "required_reviewers",
                              "reviewers": st.reviewer_objs(repo.owner, e["required_reviewers"])})
            if e.get("deployment_branch_policy"):
                rid = e.setdefault("_branch_rule_id", st.next_id("rule"))
                rules.append({"id": rid, "node_id": node_id("04:Gate", rid), "type": "branch_policy"})
            o["protection_rules"] = rules
        o["deployment_branch_policy"] = e.get("deployment_branch_policy")
        o["can_admins_bypass"] = e.get("can_admins_bypass", True)
        return o

    @app.get("/repos/<owner>/<name>/environments/<path:env_name>")
    def get_environment(owner, name, env_name):
        op("repos/get-environment")
        with st.lock:
            repo = st.repo(owner, name)
            e = repo.environments.get(env_name)
            if e is None:
                raise not_found()
            ensure_env(repo, env_name)
            return json_response(env_obj(repo, env_name, e))

    @app.get("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules")
    def deployment_protection_rules(owner, name, env_name):
        """Custom deployment protection rules (GitHub Apps), seeded as an environment's
        `custom_rules`: [{"slug": "change-freeze", "enabled": true}]."""
        op("repos/get-all-deployment-protection-rules")
        with st.lock:
            repo = st.repo(owner, name)
            e = repo.environments.get(env_name)
            if e is None:
                raise not_found()
            rules = []
            for seed in e.get("custom_rules") or []:
                rid = seed.setdefault("_id", st.next_id("rule"))
                aid = seed.setdefault("_app_id", st.next_id("app"))
                slug = seed.get("slug", "custom-gate")
                rules.append({"id": rid, "node_id": node_id("04:Gate", rid), "enabled": bool(seed.get("enabled", True)),
                              "app": {"id": aid, "slug": slug, "integration_url": st.api(f"/apps/{slug}"),
                                      "node_id": node_id("03:Integration", aid)}})
            return json_response({"total_count": sum(r["enabled"] for r in rules),
                                  "custom_deployment_protection_rules": rules})

    @app.get("/repos/<owner>/<name>/actions/runs/<int:run_id>/pending_deployments")
    def pending_deployments(owner, name, run_id):
        op("actions/get-pending-deployments-for-run")
        with st.lock:
            repo = st.repo(owner, name)
            out = []
            for p in repo.pending_deployments.get(str(run_id), []):
                if isinstance(p, str):
                    p = {"environment": p}
                env_name = p["environment"]
                e = ensure_env(repo, env_name)
                env_full = env_obj(repo, env_name, e)
                wait = int(p.get("wait_timer", e.get("wait_timer") or 0))
                out.append({
                    "environment": {k: env_full[k] for k in ("id", "node_id", "name", "url", "html_url")},
                    "wait_timer": wait,
                    "wait_timer_started_at": p.get("wait_timer_started_at", e.get("_created_at") if wait else None),
                    "current_user_can_approve": bool(p.get("current_user_can_approve", False)),
                    "reviewers": st.reviewer_objs(repo.owner, p.get("reviewers", e.get("required_reviewers", []))),
                })
            return json_response(out)

    # ---- pull requests ------------------------------------------------------------
    def patch_repo_obj(r: dict, repo: Repo) -> None:
        if not isinstance(r, dict):
            return
        r["name"] = repo.name
        r["full_name"] = repo.full_name
        if isinstance(r.get("owner"), dict):
            r["owner"]["login"] = repo.owner
        r["url"] = st.api(f"/repos/{repo.full_name}")
        r["html_url"] = f"{HTML}/{repo.full_name}"

    def pr_obj(repo: Repo, p: dict, simple: bool) -> dict:
        o = ex.item_example("repos/list-pull-requests-associated-with-commit") if simple \
            else ex.component_example("pull-request")
        n = p["number"]
        api = st.api(f"/repos/{repo.full_name}")
        html = f"{HTML}/{repo.full_name}/pull/{n}"
        head_sha = p.get("head_sha", "0" * 40)
        state = p.get("state", "open")
        merged = bool(p.get("merged", False))
        ts = p.get("created_at", "2024-01-01T00:00:00Z")
        o.update({
            "url": f"{api}/pulls/{n}", "id": p["_id"], "node_id": node_id("011:PullRequest", p["_id"]),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{n}", "commits_url": f"{api}/pulls/{n}/commits",
            "review_comments_url": f"{api}/pulls/{n}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{n}/comments", "statuses_url": f"{api}/statuses/{head_sha}",
            "number": n, "state": state, "locked": False, "title": p.get("title", f"PR {n}"),
            "user": st.user_obj(p.get("user", "octocat")), "body": p.get("body"),
            "labels": [], "milestone": None, "active_lock_reason": None,
            "created_at": ts, "updated_at": ts,
            "closed_at": p.get("closed_at", ts if state == "closed" else None),
            "merged_at": p.get("merged_at", ts if merged else None),
            "merge_commit_sha": p.get("merge_commit_sha"),
            "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
            "draft": bool(p.get("draft", False)), "auto_merge": None,
        })
        if p.get("labels"):
            tmpl = ex.component_example("pull-request")["labels"][0]
            labels = []
            for i, lname in enumerate(p["labels"]):
                lab = dict(tmpl)
                lab.update({"id": p["_id"] * 100 + i, "name": lname, "default": False,
                            "url": f"{api}/labels/{quote(lname)}",
                            "node_id": node_id("05:Label", p["_id"] * 100 + i)})
                labels.append(lab)
            o["labels"] = labels
        for side, ref_key, sha_key in (("head", "head_ref", "head_sha"), ("base", "base_ref", "base_sha")):
            s = o[side]
            ref = p.get(ref_key, "main" if side == "base" else f"pr-{n}")
            s["ref"] = ref
            s["sha"] = p.get(sha_key, "0" * 40)
            s["label"] = f"{repo.owner}:{ref}"
            s["user"] = st.user_obj(repo.owner)
            patch_repo_obj(s.get("repo"), repo)
        o["_links"] = {k: {"href": v} for k, v in {
            "self": f"{api}/pulls/{n}", "html": html, "issue": f"{api}/issues/{n}",
            "comments": f"{api}/issues/{n}/comments", "review_comments": f"{api}/pulls/{n}/comments",
            "review_comment": f"{api}/pulls/comments{{/number}}", "commits": f"{api}/pulls/{n}/commits",
            "statuses": f"{api}/statuses/{head_sha}"}.items()}
        if not simple:
            o.update({"merged": merged, "mergeable": p.get("mergeable", True) if state == "open" else None,
                      "mergeable_state": p.get("mergeable_state", "clean"),
                      "merged_by": st.user_obj(p.get("merged_by", "octocat")) if merged else None})
        return o

    @app.get("/repos/<owner>/<name>/commits/<sha>/pulls")
    def pulls_for_commit(owner, name, sha):
        op("repos/list-pull-requests-associated-with-commit")
        with st.lock:
            repo = st.repo(owner, name)
            resolved = st.resolve_ref(repo, sha) or sha

            def matches(s: str | None) -> bool:
                return bool(s) and (s == resolved or (len(resolved) >= 7 and s.startswith(resolved)))

            numbers = []
            for k, nums in repo.commit_pulls.items():
                if matches(k):
                    numbers += nums
            for p in repo.pulls.values():
                if matches(p.get("head_sha")) or matches(p.get("merge_commit_sha")) or \
                        any(matches(c) for c in p.get("commits", [])):
                    numbers.append(p["number"])
            seen, items = set(), []
            for n in sorted(set(numbers), reverse=True):
                if n in repo.pulls and n not in seen:
                    seen.add(n)
                    items.append(pr_obj(repo, repo.pulls[n], simple=True))
            chunk, headers = paginate(st, items)
            return json_response(chunk, headers=headers)

    @app.get("/repos/<owner>/<name>/pulls/<int:number>")
    def get_pull(owner, name, number):
        op("pulls/get")
        with st.lock:
            repo = st.repo(owner, name)
            p = repo.pulls.get(number)
            if p is None:
                raise not_found()
            return json_response(pr_obj(repo, p, simple=False))

    # ---- tags -------------------------------------------------------------------------
    @app.get("/repos/<owner>/<name>/tags")
    def list_tags(owner, name):
        op("repos/list-tags")
        with st.lock:
            repo = st.repo(owner, name)
            items = []
            for t in repo.tags:
                o = ex.item_example("repos/list-tags")
                o.update({"name": t["name"],
                          "commit": {"sha": t["sha"], "url": st.api(f"/repos/{repo.full_name}/commits/{t['sha']}")},
                          "zipball_url": st.api(f"/repos/{repo.full_name}/zipball/refs/tags/{quote(t['name'])}"),
                          "tarball_url": st.api(f"/repos/{repo.full_name}/tarball/refs/tags/{quote(t['name'])}"),
                          "node_id": node_id("03:Ref", abs(hash(t["name"])) % 10**9)})
                items.append(o)
            chunk, headers = paginate(st, items)
            return json_response(chunk, headers=headers)

    # ---- control API -------------------------------------------------------------------
    def seed_repo(repo: Repo, s: dict) -> None:
        for env_name, cfg in (s.get("environments") or {}).items():
            e = dict(cfg or {})
            old = repo.environments.get(env_name, {})
            for k in ("_id", "_created_at"):
                if k in old:
                    e[k] = old[k]
            repo.environments[env_name] = e
            ensure_env(repo, env_name)
        for p in s.get("pulls") or []:
            p = dict(p)
            p["_id"] = repo.pulls.get(p["number"], {}).get("_id") or st.next_id("pull")
            repo.pulls[int(p["number"])] = p
        for sha, nums in (s.get("commit_pulls") or {}).items():
            repo.commit_pulls[sha] = [int(n) for n in nums]
        repo.refs.update(s.get("refs") or {})
        if "tags" in s:
            repo.tags = [{"name": t["name"], "sha": t["sha"]} for t in s["tags"]]
        for run_id, items in (s.get("pending_deployments") or {}).items():
            repo.pending_deployments[str(run_id)] = items
        for c in s.get("comments") or []:
            user = None
            if c.get("user"):
                u = c["user"]
                user = st.user_obj(u, None, "Bot" if u.endswith("[bot]") else "User") if isinstance(u, str) \
                    else st.user_obj(u["login"], u.get("id"), u.get("type", "User"))
            add_comment(repo, int(c["issue_number"]), c["body"], user)
        for dseed in s.get("deployments") or []:
            d = add_deployment(repo, dseed)
            for stt in dseed.get("statuses") or []:
                add_status(repo, d, {"state": stt} if isinstance(stt, str) else stt)

    @app.post("/_fake/reset")
    def ctl_reset():
        st.reset()
        return json_response({"ok": True})

    @app.put("/_fake/state")
    def ctl_state():
        b = request.get_json(force=True) or {}
        with st.lock:
            if "expected_token" in b:
                st.expected_token = b["expected_token"]
            if "actor" in b:
                st.actor = dict(DEFAULT_ACTOR) if b["actor"] is None else \
                    ({"login": b["actor"], "type": "Bot" if b["actor"].endswith("[bot]") else "User"}
                     if isinstance(b["actor"], str) else dict(b["actor"]))
            for full, s in (b.get("repos") or {}).items():
                owner, name = full.split("/", 1)
                seed_repo(st.repo(owner, name), s or {})
        return dump_state()

    @app.get("/_fake/state")
    def dump_state():
        with st.lock:
            out = {"expected_token_set": st.expected_token is not None, "actor": st.actor, "repos": {}}
            for key, r in st.repos.items():
                out["repos"][r.full_name] = {
                    "check_runs": [dict(public(c), annotations=c["_annotations"]) for c in r.check_runs.values()],
                    "comments": [dict(public(c), issue_number=c["_issue"]) for c in r.comments.values()],
                    "deployments": [dict(public(d), statuses=[public(s) for s in r.statuses[d["id"]]],
                                         required_contexts=d["_required_contexts"])
                                    for d in r.deployments.values()],
                    "environments": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
                                     for k, v in r.environments.items()},
                    "pulls": [public(p) for p in r.pulls.values()],
                    "commit_pulls": r.commit_pulls, "refs": r.refs, "tags": r.tags,
                    "pending_deployments": r.pending_deployments,
                }
            return json_response(out)

    @app.put("/_fake/faults")
    def ctl_faults():
        b = request.get_json(force=True)
        if isinstance(b, dict):
            b = [b]
        with st.lock:
            st.faults = [dict(f, hits=0) for f in (b or [])]
            return json_response(st.faults)

    @app.get("/_fake/faults")
    def ctl_get_faults():
        with st.lock:
            return json_response(st.faults)

    @app.delete("/_fake/faults")
    def ctl_del_faults():
        with st.lock:
            st.faults = []
        return json_response([])

    @app.get("/_fake/requests")
    def ctl_requests():
        with st.lock:
            items = list(st.requests)
        m = request.args.get("method")
        if m:
            items = [r for r in items if r["method"] == m.upper()]
        if request.args.get("path_regex"):
            rx = re.compile(request.args["path_regex"])
            items = [r for r in items if rx.search(r["path"])]
        if request.args.get("since_seq"):
            items = [r for r in items if r["seq"] > int(request.args["since_seq"])]
        return json_response(items)

    @app.delete("/_fake/requests")
    def ctl_clear_requests():
        with st.lock:
            st.requests = []
        return json_response([])

    @app.get("/_fake/violations")
    def ctl_violations():
        st.log_barrier()
        items = st.violations_view()
        sev = request.args.get("severity")
        if sev:
            items = [v for v in items if v.get("severity") == sev]
        return json_response(items)

    @app.delete("/_fake/violations")
    def ctl_clear_violations():
        with st.lock:
            st.violations = []
        return json_response([])

    @app.get("/_fake/health")
    def ctl_health():
        return json_response({"ok": True, "api_base": st.api_base})

    return app, st
