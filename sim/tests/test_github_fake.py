"""The GitHub fake behind prism: run from the repo root with
    .venv/bin/python -m pytest sim/tests/test_github_fake.py
One `python -m sim.github` per module (prism needs ~10-15 s to start).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHA = "a" * 40
SHA2 = "b" * 40
TOKEN = "ghs_test_token_value"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "octocrab"}
REPO = "acme/web"


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def gh():
    proc = subprocess.Popen([sys.executable, "-m", "sim.github", "--port", "0"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line: list[str] = []
    t = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(90)
    assert line and line[0].startswith("READY "), f"no READY line: {line} / {proc.stderr.read() if proc.poll() is not None else ''}"
    parts = line[0].split()
    api, control = parts[1], parts[2].split("=", 1)[1]

    class GH:
        pass

    g = GH()
    g.proc, g.api, g.control = proc, api, control
    g.prism_pids = children(proc.pid)
    yield g
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


@pytest.fixture()
def c(gh):
    """A fresh fake (state, faults, log, violations) for each test."""
    requests.post(f"{gh.control}/_fake/reset").raise_for_status()
    requests.put(f"{gh.control}/_fake/state", json={"expected_token": TOKEN}).raise_for_status()
    return gh


def api(gh, method: str, path: str, **kw) -> requests.Response:
    headers = dict(AUTH)
    headers.update(kw.pop("headers", {}))
    return requests.request(method, f"{gh.api}{path}", headers=headers, timeout=30, **kw)


def log(gh, **params) -> list[dict]:
    return requests.get(f"{gh.control}/_fake/requests", params=params).json()


def violations(gh, severity: str | None = "error") -> list[dict]:
    return requests.get(f"{gh.control}/_fake/violations", params={"severity": severity} if severity else {}).json()


def test_check_run_create_update_get(c):
    r = api(c, "POST", f"/repos/{REPO}/check-runs",
            json={"name": "ecs-deploy", "head_sha": SHA, "status": "in_progress",
                  "output": {"title": "Deploying", "summary": "rolling out"}})
    assert r.status_code == 201, r.text
    cr = r.json()
    assert (cr["name"], cr["status"], cr["conclusion"], cr["head_sha"]) == ("ecs-deploy", "in_progress", None, SHA)
    assert cr["url"].startswith(c.api)  # links point back at prism, not api.github.com

    r = api(c, "PATCH", f"/repos/{REPO}/check-runs/{cr['id']}",
            json={"conclusion": "success", "output": {"title": "Deployed", "summary": "done",
                                                      "annotations": [{"path": "a", "start_line": 1, "end_line": 1,
                                                                       "annotation_level": "notice", "message": "m"}]}})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["conclusion"]) == ("completed", "success")
    assert r.json()["completed_at"]

    got = api(c, "GET", f"/repos/{REPO}/check-runs/{cr['id']}").json()
    assert got["output"]["title"] == "Deployed" and got["output"]["annotations_count"] == 1

    # list for ref, filtered by name; `latest` keeps the newest run per name
    api(c, "POST", f"/repos/{REPO}/check-runs", json={"name": "other", "head_sha": SHA})
    api(c, "POST", f"/repos/{REPO}/check-runs", json={"name": "ecs-deploy", "head_sha": SHA2})
    lst = api(c, "GET", f"/repos/{REPO}/commits/{SHA}/check-runs", params={"check_name": "ecs-deploy"}).json()
    assert lst["total_count"] == 1 and lst["check_runs"][0]["id"] == cr["id"]

    assert api(c, "GET", f"/repos/{REPO}/check-runs/999").status_code == 404
    posts = log(c, method="POST", path_regex="/check-runs$")
    assert posts[0]["body"]["name"] == "ecs-deploy" and posts[0]["auth"] == {
        "present": True, "scheme": "Bearer", "matches_expected": True}
    assert TOKEN not in str(log(c))
    assert violations(c) == []


def test_sticky_comment_found_and_updated_in_place(c):
    requests.put(f"{c.control}/_fake/state", json={"repos": {REPO: {"comments": [
        {"issue_number": 7, "body": "someone else", "user": "alice"}] + [
        {"issue_number": 7, "body": f"filler {i}", "user": "bob"} for i in range(3)]}}}).raise_for_status()
    marker = "<!-- ecs-deploy -->"
    r = api(c, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": f"{marker}\nv1"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["user"]["login"] == "github-actions[bot]"

    # page through with per_page=2: the Link header points at prism, never at api.github.com
    found, page = None, 1
    while True:
        resp = api(c, "GET", f"/repos/{REPO}/issues/7/comments", params={"per_page": 2, "page": page})
        assert resp.status_code == 200
        assert "api.github.com" not in resp.headers.get("Link", "")
        for cm in resp.json():
            if cm["body"].startswith(marker):
                found = cm
        if 'rel="next"' not in resp.headers.get("Link", ""):
            break
        assert resp.headers["Link"].startswith(f"<{c.api}/")
        page += 1
    assert page == 3 and found["id"] == cid

    r = api(c, "PATCH", f"/repos/{REPO}/issues/comments/{cid}", json={"body": f"{marker}\nv2"})
    assert r.status_code == 200 and r.json()["id"] == cid
    assert api(c, "GET", f"/repos/{REPO}/issues/comments/{cid}").json()["body"].endswith("v2")
    bodies = [cm["body"] for cm in api(c, "GET", f"/repos/{REPO}/issues/7/comments", params={"per_page": 100}).json()]
    assert len(bodies) == 5 and sum(b.startswith(marker) for b in bodies) == 1
    assert violations(c) == []


def test_update_comment_with_post_is_rejected_by_prism(c):
    cid = api(c, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": "x"}).json()["id"]
    before = len(log(c))
    # what octocrab 0.54's issues().update_comment() sends
    r = api(c, "POST", f"/repos/{REPO}/issues/comments/{cid}", json={"body": "y"})
    assert r.status_code in (404, 405)
    assert len(log(c)) == before  # never reached the fake
    v = violations(c)
    assert v and v[-1]["kind"] == "request" and v[-1]["prism_error"] == "NO_METHOD_MATCHED_ERROR"


def test_bad_body_is_rejected_and_never_reaches_fake(c):
    r = api(c, "POST", f"/repos/{REPO}/check-runs", json={"head_sha": SHA})  # no `name`
    assert 400 <= r.status_code < 500 and r.status_code == 422
    assert "name" in r.text
    r = api(c, "POST", f"/repos/{REPO}/deployments/1/statuses", json={"state": "shipped"})  # not in the enum
    assert r.status_code == 422
    assert log(c) == []
    v = violations(c)
    assert [x["prism_error"] for x in v] == ["UNPROCESSABLE_ENTITY"] * 2
    assert v[0]["method"] == "POST" and v[0]["path"] == f"/repos/{REPO}/check-runs"


def test_deployment_statuses_in_order_and_auto_inactive(c):
    d1 = api(c, "POST", f"/repos/{REPO}/deployments",
             json={"ref": SHA, "environment": "production", "required_contexts": [], "auto_merge": False,
                   "payload": {"image": "web:1"}})
    assert d1.status_code == 201, d1.text
    d1 = d1.json()
    assert (d1["sha"], d1["environment"], d1["production_environment"]) == (SHA, "production", True)
    for state in ("in_progress", "success"):
        r = api(c, "POST", f"/repos/{REPO}/deployments/{d1['id']}/statuses",
                json={"state": state, "log_url": "https://github.com/acme/web/actions/runs/1",
                      "environment_url": "https://web.example.com", "description": f"{state}"})
        assert r.status_code == 201, r.text
    d2 = api(c, "POST", f"/repos/{REPO}/deployments", json={"ref": SHA2, "environment": "production"}).json()
    r = api(c, "POST", f"/repos/{REPO}/deployments/{d2['id']}/statuses", json={"state": "in_progress"})
    assert r.status_code == 201 and r.json()["target_url"]  # spec-valid even without log_url

    states1 = [s["state"] for s in api(c, "GET", f"/repos/{REPO}/deployments/{d1['id']}/statuses").json()]
    assert states1 == ["inactive", "success", "in_progress"]  # newest first, as GitHub lists them
    lst = api(c, "GET", f"/repos/{REPO}/deployments", params={"environment": "production"}).json()
    assert [d["id"] for d in lst] == [d2["id"], d1["id"]]
    assert [d["id"] for d in api(c, "GET", f"/repos/{REPO}/deployments", params={"sha": SHA}).json()] == [d1["id"]]
    # a too-long description is a 422 from GitHub
    r = api(c, "POST", f"/repos/{REPO}/deployments/{d2['id']}/statuses", json={"state": "success", "description": "x" * 141})
    assert r.status_code == 422
    assert violations(c) == []


def test_protected_environment_and_pending_deployments(c):
    requests.put(f"{c.control}/_fake/state", json={"repos": {REPO: {
        "environments": {"production": {"wait_timer": 5, "prevent_self_review": True,
                                        "required_reviewers": [{"type": "User", "login": "alice"},
                                                               {"type": "Team", "slug": "ops"}]},
                         "staging": {}},
        "pending_deployments": {"42": ["production"]}}}}).raise_for_status()
    env = api(c, "GET", f"/repos/{REPO}/environments/production")
    assert env.status_code == 200, env.text
    rules = {r["type"]: r for r in env.json()["protection_rules"]}
    assert rules["wait_timer"]["wait_timer"] == 5
    assert [x["reviewer"].get("login") or x["reviewer"]["slug"] for x in rules["required_reviewers"]["reviewers"]] == [
        "alice", "ops"]
    assert api(c, "GET", f"/repos/{REPO}/environments/staging").json()["protection_rules"] == []
    assert api(c, "GET", f"/repos/{REPO}/environments/qa").status_code == 404

    pend = api(c, "GET", f"/repos/{REPO}/actions/runs/42/pending_deployments")
    assert pend.status_code == 200, pend.text
    assert pend.json()[0]["environment"]["name"] == "production" and pend.json()[0]["wait_timer"] == 5
    assert len(pend.json()[0]["reviewers"]) == 2
    assert api(c, "GET", f"/repos/{REPO}/actions/runs/43/pending_deployments").json() == []
    assert violations(c) == []  # the 404 for `qa` is only a warning (404 is not declared for that operation)
    assert any(v["path"].endswith("/environments/qa") for v in violations(c, "warning"))


def test_pull_request_from_commit_and_tags(c):
    requests.put(f"{c.control}/_fake/state", json={"repos": {REPO: {
        "pulls": [{"number": 12, "title": "Faster deploys", "head_ref": "feat/fast", "head_sha": SHA,
                   "state": "open", "labels": ["deploy"]},
                  {"number": 9, "title": "Old", "head_ref": "old", "head_sha": "c" * 40, "state": "closed",
                   "merged": True}],
        "commit_pulls": {SHA2: [9]},
        "tags": [{"name": "v1.2.0", "sha": SHA2}, {"name": "v1.1.0", "sha": "d" * 40}]}}}).raise_for_status()
    prs = api(c, "GET", f"/repos/{REPO}/commits/{SHA}/pulls")
    assert prs.status_code == 200, prs.text
    assert [(p["number"], p["title"], p["head"]["ref"], p["head"]["sha"]) for p in prs.json()] == [
        (12, "Faster deploys", "feat/fast", SHA)]
    assert [p["number"] for p in api(c, "GET", f"/repos/{REPO}/commits/{SHA2}/pulls").json()] == [9]
    assert api(c, "GET", f"/repos/{REPO}/commits/{'e' * 40}/pulls").json() == []
    pr = api(c, "GET", f"/repos/{REPO}/pulls/9").json()
    assert (pr["state"], pr["merged"], pr["base"]["repo"]["full_name"]) == ("closed", True, REPO)
    assert api(c, "GET", f"/repos/{REPO}/pulls/99").status_code == 404
    # a check run on the PR head lists the PR like GitHub does
    cr = api(c, "POST", f"/repos/{REPO}/check-runs", json={"name": "x", "head_sha": SHA}).json()
    assert [p["number"] for p in cr["pull_requests"]] == [12]
    tags = api(c, "GET", f"/repos/{REPO}/tags").json()
    assert [(t["name"], t["commit"]["sha"]) for t in tags] == [("v1.2.0", SHA2), ("v1.1.0", "d" * 40)]
    # refs resolve through tags and PR head branches
    assert api(c, "GET", f"/repos/{REPO}/commits/feat%2Ffast/check-runs").json()["total_count"] == 1
    assert api(c, "GET", f"/repos/{REPO}/commits/v1.2.0/check-runs").json()["total_count"] == 0
    assert api(c, "GET", f"/repos/{REPO}/commits/no-such-branch/check-runs").status_code == 422
    assert violations(c) == []


def test_auth(c):
    r = requests.get(f"{c.api}/repos/{REPO}/tags")
    assert r.status_code == 401 and r.json()["message"] == "Requires authentication"
    r = api(c, "GET", f"/repos/{REPO}/tags", headers={"Authorization": "token wrong"})
    assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
    auths = [x["auth"] for x in log(c)]
    assert auths == [{"present": False, "scheme": None, "matches_expected": False},
                     {"present": True, "scheme": "token", "matches_expected": False}]
    assert "wrong" not in str(log(c))


def test_faults(c):
    requests.put(f"{c.control}/_fake/faults", json=[
        {"method": "POST", "path_regex": "/check-runs", "status": 403, "count": 1,
         "message": "Resource not accessible by integration"},
        {"method": "GET", "path_regex": "/tags$", "status": 429, "count": 1, "retry_after": 2},
        {"method": "GET", "path_regex": "/deployments$", "status": 503, "count": 2},
        {"method": "POST", "path_regex": "/issues/\\d+/comments", "delay_ms": 600, "count": 1},
    ]).raise_for_status()
    r = api(c, "POST", f"/repos/{REPO}/check-runs", json={"name": "n", "head_sha": SHA})
    assert r.status_code == 403 and r.json()["message"] == "Resource not accessible by integration"
    assert api(c, "POST", f"/repos/{REPO}/check-runs", json={"name": "n", "head_sha": SHA}).status_code == 201

    r = api(c, "GET", f"/repos/{REPO}/tags")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"  # passes through prism
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert api(c, "GET", f"/repos/{REPO}/tags").status_code == 200

    assert [api(c, "GET", f"/repos/{REPO}/deployments").status_code for _ in range(3)] == [503, 503, 200]

    t = time.monotonic()
    assert api(c, "POST", f"/repos/{REPO}/issues/1/comments", json={"body": "slow"}).status_code == 201
    assert time.monotonic() - t >= 0.6

    faults = requests.get(f"{c.control}/_fake/faults").json()
    assert [f["hits"] for f in faults] == [1, 1, 2, 1]
    assert [x["fault"] for x in log(c, method="POST", path_regex="check-runs")] == [0, None]
    assert violations(c) == []  # undeclared 403/429/503 are warnings only


def test_schema_violating_response_is_reported(c):
    # a 2xx body that breaks the schema: prism (--errors) turns it into a 500 and the fake records why
    requests.put(f"{c.control}/_fake/faults", json=[
        {"method": "GET", "path_regex": "/check-runs/1$", "status": 200, "body": {"id": "not-an-int"}}]).raise_for_status()
    r = api(c, "GET", f"/repos/{REPO}/check-runs/1")
    assert r.status_code == 500 and "sl-violations" in r.headers
    v = violations(c)
    assert len(v) == 1 and v[0]["kind"] == "response" and v[0]["status"] == 200
    assert v[0]["operation"] == "checks/get" or v[0]["path"] == f"/repos/{REPO}/check-runs/1"
    assert any("id" in d for d in v[0]["details"]) and any("required" in d for d in v[0]["details"])


def test_zz_stdin_eof_stops_fake_and_prism(gh):
    prism = gh.prism_pids
    assert prism and all(alive(p) for p in prism)
    gh.proc.stdin.close()
    assert gh.proc.wait(15) == 0
    deadline = time.monotonic() + 10
    while any(alive(p) for p in prism) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in prism)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{gh.control}/_fake/health", timeout=2)
