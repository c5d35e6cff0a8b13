"""IAM, enforced: an access key bound to a policy is refused what that policy does not allow.

PUT /_sim/iam {"access_key": K, "policy": {...}} binds an identity-based policy to K; every
call signed with K is then authorized as AWS does before it reaches moto, and a refusal is
AWS's AccessDenied in the call's protocol. Keys without a policy are not checked (the test
harness sets up its world with those).

moto's own evaluation is not used: it authorizes every non-S3 call against the resource "*"
and turns an Allow whose Condition does not match into an explicit Deny, so no
resource-scoped policy (such as the shipped iam-policy.json) can pass through it.

The evaluation follows "Policy evaluation logic" (docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic.html): an explicit Deny wins, then any Allow, else an
implicit deny. The resource and condition keys of each call are those of the Service
Authorization Reference (docs.aws.amazon.com/service-authorization/latest/reference/) for
ECS, ECR, Elastic Load Balancing v2, CloudWatch, Application Auto Scaling, CodeDeploy and IAM (iam:PassRole on a task definition's
roles). A call the simulator cannot place (an operation missing from RESOURCES below) is
refused: the less forgiving reading.
"""
import contextvars
import functools
import json
import re
import uuid

from .core import sim

ACCOUNT = "123456789012"  # the default account (every key that is not an assumed role's)
_account = contextvars.ContextVar("account", default=ACCOUNT)  # the caller's, during one check
IAM_PREFIX = {"monitoring": "cloudwatch"}  # SigV4 signing name -> IAM service prefix


PLACEHOLDERS = ("REGION", "ACCOUNT_ID", "CLUSTER", "FAMILY", "REPOSITORY", "LOAD_BALANCER", "TASK_ROLE",
                "EXECUTION_ROLE", "STAGE_ROLE_ARN", "CODEDEPLOY_APPLICATION", "DEPLOYMENT_GROUP")


def caller(access_key: str | None) -> tuple[str, str | None]:
    """(account, role ARN) of an access key: an assumed role's (moto keeps its temporary keys
    in the role's account), else the default account's."""
    from moto.iam.models import get_account_id_from, iam_backends

    if not access_key:
        return ACCOUNT, None
    account = get_account_id_from(access_key)
    key = iam_backends[account]["aws"].access_keys.get(access_key)
    return account, getattr(key, "role_arn", None)


def create_role(account: str, name: str, trust) -> None:
    """A role in any account, with its trust policy (a stage account's deploy role, as its own
    administrator would create it; the control API's, for tests). The trust policy is a JSON
    document, given as a string (as IAM's CreateRole takes it) or as the object itself."""
    from moto.iam.models import iam_backends

    if isinstance(trust, dict):
        trust = json.dumps(trust)
    if not isinstance(trust, str):
        raise TypeError("trust must be a trust policy document: a JSON object, or the string of one")
    json.loads(trust)  # a string that is not JSON is the caller's mistake (400), not the simulator's

    iam_backends[account]["aws"].create_role(
        role_name=name, assume_role_policy_document=trust, path="/", permissions_boundary=None,
        description="", tags=[], max_session_duration="3600")


def enforced(access_key: str | None) -> bool:
    """Whether calls signed with this key are held to a policy (its own, or its role's)."""
    if not access_key:
        return False
    if access_key in sim.iam_policies:
        return True
    role = caller(access_key)[1]
    return bool(role) and f"role:{role}" in sim.iam_policies


def bind_role(role_arn: str, policy: dict | None = None, template: str | None = None) -> None:
    """Binds a policy (or template) to an IAM role: every session that assumes it is held to it."""
    if template is not None:
        sim.iam_policies[f"role:{role_arn}"] = {"template": template}
        return
    _check(policy)
    sim.iam_policies[f"role:{role_arn}"] = {"policy": policy}


def bind(access_key: str, policy: dict | None = None, template: str | None = None) -> None:
    """Binds a policy, or a policy template (iam-policy.json as shipped), to an access key.

    A template is filled in at each call with every cluster, task-definition family, ECR
    repository, load balancer and IAM role that exists then: the role one would write for the
    resources the deploy touches, however a test names them."""
    if template is not None:
        render(template, "us-east-1")  # refuse a broken template up front
        sim.iam_policies[access_key] = {"template": template}
        return
    _check(policy)
    sim.iam_policies[access_key] = {"policy": policy}


def _check(policy: dict) -> None:
    if not isinstance(policy.get("Statement"), list):
        raise ValueError("policy needs a Statement list")
    for s in policy["Statement"]:
        for op in s.get("Condition", {}):
            _operator(op)  # refuse operators the simulator cannot evaluate, up front


def _names(region: str) -> dict:
    from moto.ecr.models import ecr_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends
    from moto.iam.models import iam_backends

    from moto.codedeploy.models import codedeploy_backends

    account = _account.get()
    ecs, iam = ecs_backends[account][region], iam_backends[account]["aws"]
    cd = codedeploy_backends[account][region]
    roles = [r.name for r in iam.roles.values()] if isinstance(iam.roles, dict) else []
    # The stage roles a deploy may assume: every role of every account (a test names them).
    stage_roles = [r.arn for a in list(iam_backends.values()) for r in list(a["aws"].roles.values())]
    return {"REGION": [region], "ACCOUNT_ID": [account], "CLUSTER": list(ecs.clusters),
            "FAMILY": list(ecs.task_definitions), "REPOSITORY": list(ecr_backends[account][region].repositories),
            "LOAD_BALANCER": [lb.name for lb in elbv2_backends[account][region].load_balancers.values()],
            "TASK_ROLE": roles, "EXECUTION_ROLE": roles, "STAGE_ROLE_ARN": stage_roles,
            "CODEDEPLOY_APPLICATION": list(cd.applications),
            "DEPLOYMENT_GROUP": sorted({g for groups in cd.deployment_groups.values() for g in groups})}


def _expand(text: str, names: dict) -> list[str]:
    """A string with placeholders, once per combination of their values."""
    out = [text]
    for placeholder in PLACEHOLDERS:
        if placeholder in text:
            values = names.get(placeholder) or ["none-exists"]
            out = [o.replace(placeholder, v) for o in out for v in values]
    return out


def _render(value, names: dict):
    if isinstance(value, str):
        expanded = _expand(value, names)
        return expanded[0] if len(expanded) == 1 else expanded
    if isinstance(value, list):
        return [x for v in value for x in _listed(_render(v, names))]
    if isinstance(value, dict):
        return {k: _render(v, names) for k, v in value.items()}
    return value


def render(template: str, region: str) -> dict:
    policy = _render(json.loads(template), _names(region))
    _check(policy)
    return policy


def policy_for(access_key: str, region: str) -> dict | None:
    bound = sim.iam_policies.get(access_key)
    if bound is None:
        role = caller(access_key)[1]
        bound = sim.iam_policies.get(f"role:{role}") if role else None
    if bound is None:
        return None
    return bound["policy"] if "policy" in bound else render(bound["template"], region)


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{_account.get()}:{resource}"


def _ssm_parameter(region: str, name: str) -> str:
    """A parameter's ARN: `parameter/a/b` for `/a/b` and for `a/b` alike."""
    if name.startswith("arn:"):  # arn:aws:ssm:REGION:ACCOUNT:parameter/NAME[:selector]
        return ":".join(name.split(":")[:6])
    return _arn("ssm", region, "parameter/" + name.split(":", 1)[0].lstrip("/"))


def _ecs_cluster(params: dict, region: str) -> str:
    c = params.get("cluster") or "default"
    return c if c.startswith("arn:") else _arn("ecs", region, f"cluster/{c}")


def _ecs_named(params: dict, region: str, kind: str, names: list) -> list:
    cluster = _ecs_cluster(params, region).rsplit("/", 1)[-1]
    return [n if n.startswith("arn:") else _arn("ecs", region, f"{kind}/{cluster}/{n}") for n in names]


def _tag_keys(params: dict) -> list:
    tags = params.get("tags") or []
    return [t.get("key") for t in tags] if tags else list(params.get("tagKeys") or [])


def _register(params: dict, region: str) -> list:
    """RegisterTaskDefinition: the call itself, tagging on create, and passing the task's roles."""
    checks = [("ecs:RegisterTaskDefinition", "*", {})]
    if params.get("tags"):
        family = params.get("family", "")
        checks.append(("ecs:TagResource", _arn("ecs", region, f"task-definition/{family}:*"),
                       {"ecs:CreateAction": ["RegisterTaskDefinition"], "aws:TagKeys": _tag_keys(params)}))
    for role in (params.get("taskRoleArn"), params.get("executionRoleArn")):
        if role:
            checks.append(("iam:PassRole", role, {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}))
    return checks


def _run_task(params: dict, region: str) -> list:
    """RunTask: on the task definition, in the cluster; and passing its roles (the task
    definition's, or an override's), as for RegisterTaskDefinition."""
    from moto.ecs.models import ecs_backends

    td = params.get("taskDefinition", "")
    arn = td if td.startswith("arn:") else _arn("ecs", region, f"task-definition/{td}")
    checks = [("ecs:RunTask", arn, {"ecs:cluster": [_ecs_cluster(params, region)]})]
    try:
        found = ecs_backends[_account.get()][region].describe_task_definition(td)
        roles = [getattr(found, "task_role_arn", None), getattr(found, "execution_role_arn", None)]
    except Exception:  # an unknown task definition is moto's to refuse
        roles = []
    overrides = params.get("overrides") or {}
    roles += [overrides.get("taskRoleArn"), overrides.get("executionRoleArn")]
    checks += [("iam:PassRole", r, {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}) for r in roles if r]
    return checks


def _register_scalable_target(params: dict, region: str) -> list:
    """RegisterScalableTarget on the scalable target, and for an ECS service the ECS calls
    Application Auto Scaling makes as the caller (its "Permissions required" table:
    ecs:DescribeServices and ecs:UpdateService)."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    resource_id, dimension = params.get("ResourceId", ""), params.get("ScalableDimension", "")
    try:
        target = applicationautoscaling_backends[_account.get()][region].targets[dimension][resource_id]
        arn = target.arn
    except (KeyError, AttributeError):  # a new target: its ARN does not exist yet
        arn = _arn("application-autoscaling", region, "scalable-target/*")
    checks = [("application-autoscaling:RegisterScalableTarget", arn, {})]
    if params.get("ServiceNamespace") == "ecs" and resource_id.count("/") == 2:
        _, cluster, service = resource_id.split("/")
        service_arn = _arn("ecs", region, f"service/{cluster}/{service}")
        cluster_arn = _arn("ecs", region, f"cluster/{cluster}")
        checks += [("ecs:DescribeServices", service_arn, {"ecs:cluster": [cluster_arn]}),
                   ("ecs:UpdateService", service_arn, {"ecs:cluster": [cluster_arn]})]
    return checks


def _cluster_of(arn: str, region: str) -> dict:
    """ecs:cluster of a service-deployment or service-revision ARN (…:kind/cluster/service/id)."""
    parts = arn.split(":", 5)[-1].split("/")
    return {"ecs:cluster": [_arn("ecs", region, f"cluster/{parts[1]}")]} if len(parts) >= 3 else {}


def _cd_group(region: str, application: str, group: str) -> str:
    return _arn("codedeploy", region, f"deploymentgroup:{application}/{group}")


def _cd_deployment_group(region: str, deployment_id: str) -> str:
    """The deployment group ARN of a deployment (a deployment has no resource type of its own)."""
    from moto.codedeploy.models import codedeploy_backends

    try:
        d = codedeploy_backends[_account.get()][region].deployments[deployment_id]
        return _cd_group(region, d.application_name, d.deployment_group_name)
    except KeyError:
        return _cd_group(region, "*", "*")


def _ecr_repo(params: dict, region: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{params.get('registryId') or _account.get()}:repository/{name}"


# operation -> params, region -> [(iam action, resource, condition context)]
RESOURCES = {
    "ecs": {
        # With include TAGS the tags are read too: AWS does not say whether that needs
        # ecs:ListTagsForResource as well, so it is required (the less forgiving reading).
        "DescribeServices": lambda p, r: [(action, a, {"ecs:cluster": [_ecs_cluster(p, r)]} if action.endswith("Services") else {})
                                          for a in _ecs_named(p, r, "service", p.get("services") or [])
                                          for action in ["ecs:DescribeServices"]
                                          + (["ecs:ListTagsForResource"] if "TAGS" in (p.get("include") or []) else [])],
        "UpdateService": lambda p, r: [("ecs:UpdateService", _ecs_named(p, r, "service", [p.get("service", "")])[0],
                                        {"ecs:cluster": [_ecs_cluster(p, r)]})],
        "DescribeTaskDefinition": lambda p, r: [("ecs:DescribeTaskDefinition", "*", {})],
        "ListTaskDefinitions": lambda p, r: [("ecs:ListTaskDefinitions", "*", {})],
        "DeregisterTaskDefinition": lambda p, r: [("ecs:DeregisterTaskDefinition", "*", {})],
        "RegisterTaskDefinition": _register,
        "RunTask": _run_task,
        "StopTask": lambda p, r: [("ecs:StopTask", _ecs_named(p, r, "task", [p.get("task", "")])[0],
                                   {"ecs:cluster": [_ecs_cluster(p, r)]})],
        "ListTasks": lambda p, r: [("ecs:ListTasks", "*", {"ecs:cluster": [_ecs_cluster(p, r)]})],
        "DescribeTasks": lambda p, r: [("ecs:DescribeTasks", a, {"ecs:cluster": [_ecs_cluster(p, r)]})
                                       for a in _ecs_named(p, r, "task", p.get("tasks") or [])],
        "TagResource": lambda p, r: [("ecs:TagResource", p.get("resourceArn", ""), {"aws:TagKeys": _tag_keys(p)})],
        "UntagResource": lambda p, r: [("ecs:UntagResource", p.get("resourceArn", ""),
                                        {"aws:TagKeys": _tag_keys(p)})],
        "ListTagsForResource": lambda p, r: [("ecs:ListTagsForResource", p.get("resourceArn", ""), {})],
        # Service deployments and revisions (Service Authorization Reference, ECS: resource types
        # service, service-deployment and service-revision, each with ecs:cluster).
        "ListServiceDeployments": lambda p, r: [("ecs:ListServiceDeployments",
                                                 _ecs_named(p, r, "service", [p.get("service", "")])[0],
                                                 {"ecs:cluster": [_ecs_cluster(p, r)]})],
        "DescribeServiceDeployments": lambda p, r: [("ecs:DescribeServiceDeployments", a, _cluster_of(a, r))
                                                    for a in p.get("serviceDeploymentArns") or []],
        "StopServiceDeployment": lambda p, r: [("ecs:StopServiceDeployment", p.get("serviceDeploymentArn", ""),
                                                _cluster_of(p.get("serviceDeploymentArn", ""), r))],
        "ContinueServiceDeployment": lambda p, r: [("ecs:ContinueServiceDeployment", p.get("serviceDeploymentArn", ""),
                                                    _cluster_of(p.get("serviceDeploymentArn", ""), r))],
        "DescribeServiceRevisions": lambda p, r: [("ecs:DescribeServiceRevisions", a, _cluster_of(a, r))
                                                  for a in p.get("serviceRevisionArns") or []],
    },
    "ecr": {
        op: (lambda op: lambda p, r: [(f"ecr:{op}", _ecr_repo(p, r, p.get("repositoryName", "")), {})])(op)
        for op in ("DescribeImages", "BatchGetImage", "PutImage", "ListImages", "GetDownloadUrlForLayer",
                   "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload")
    } | {
        "DescribeRepositories": lambda p, r: [("ecr:DescribeRepositories", _ecr_repo(p, r, n), {})
                                              for n in p.get("repositoryNames") or []] or
        [("ecr:DescribeRepositories", "*", {})],
    },
    "elasticloadbalancing": {
        "DescribeListeners": lambda p, r: [("elasticloadbalancing:DescribeListeners", "*", {})],
        "DescribeRules": lambda p, r: [("elasticloadbalancing:DescribeRules", "*", {})],
        "DescribeTargetHealth": lambda p, r: [("elasticloadbalancing:DescribeTargetHealth", "*", {})],
        "DescribeTargetGroups": lambda p, r: [("elasticloadbalancing:DescribeTargetGroups", "*", {})],
        "DescribeLoadBalancers": lambda p, r: [("elasticloadbalancing:DescribeLoadBalancers", "*", {})],
        "ModifyListener": lambda p, r: [("elasticloadbalancing:ModifyListener", p.get("ListenerArn", ""), {})],
        "ModifyRule": lambda p, r: [("elasticloadbalancing:ModifyRule", p.get("RuleArn", ""), {})],
    },
    "application-autoscaling": {
        "DescribeScalableTargets": lambda p, r: [("application-autoscaling:DescribeScalableTargets", "*", {})],
        "RegisterScalableTarget": _register_scalable_target,
    },
    # CodeDeploy (Service Authorization Reference, AWS CodeDeploy: resource types application,
    # deploymentgroup, deploymentconfig). CreateDeployment with AppSpec content registers the
    # revision on the application too: RegisterApplicationRevision is required with it (the less
    # forgiving reading; AWS's ECS GitHub Action documents both).
    "codedeploy": {
        "GetDeploymentGroup": lambda p, r: [("codedeploy:GetDeploymentGroup", _cd_group(r, p.get("applicationName", ""),
                                                                                      p.get("deploymentGroupName", "")), {})],
        "ListDeployments": lambda p, r: [("codedeploy:ListDeployments", _cd_group(r, p.get("applicationName", ""),
                                                                                 p.get("deploymentGroupName", "")), {})],
        "GetDeploymentConfig": lambda p, r: [("codedeploy:GetDeploymentConfig",
                                              _arn("codedeploy", r, f"deploymentconfig:{p.get('deploymentConfigName', '')}"), {})],
        "CreateDeployment": lambda p, r: [
            ("codedeploy:CreateDeployment", _cd_group(r, p.get("applicationName", ""), p.get("deploymentGroupName", "")), {}),
            ("codedeploy:RegisterApplicationRevision", _arn("codedeploy", r, f"application:{p.get('applicationName', '')}"), {})],
        **{op: (lambda op: lambda p, r: [(f"codedeploy:{op}", _cd_deployment_group(r, p.get("deploymentId", "")), {})])(op)
           for op in ("GetDeployment", "StopDeployment", "ListDeploymentTargets", "BatchGetDeploymentTargets")},
    },
    "ssm": {  # a selector (name:version, name:label) is authorized as the parameter itself
        "GetParameters": lambda p, r: [("ssm:GetParameters", _ssm_parameter(r, n), {}) for n in p.get("Names") or []],
        "PutParameter": lambda p, r: [("ssm:PutParameter", _ssm_parameter(r, p.get("Name", "")), {})],
    },
    "sts": {
        "AssumeRole": lambda p, r: [("sts:AssumeRole", p.get("RoleArn", ""), {})],
    },
    "cloudwatch": {
        "GetMetricData": lambda p, r: [("cloudwatch:GetMetricData", "*", {})],
        "DescribeAlarms": lambda p, r: [("cloudwatch:DescribeAlarms", _arn("cloudwatch", r, f"alarm:{n}"), {})
                                        for n in p.get("AlarmNames") or []] or
        [("cloudwatch:DescribeAlarms", "*", {})],
    },
}


def checks_for(service: str, operation: str, params: dict, region: str) -> list | None:
    """The (action, resource, context) triples AWS authorizes for this call; None if unknown."""
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # always allowed, even under an explicit Deny
    resolver = RESOURCES.get(IAM_PREFIX.get(service, service), {}).get(operation)
    return resolver(params, region) if resolver else None


def decide(policy: dict, action: str, resource: str, context: dict) -> bool:
    allowed = False
    for s in policy["Statement"]:
        if not _matches(s, action, resource, context):
            continue
        if s.get("Effect") == "Deny":
            return False
        allowed = allowed or s.get("Effect") == "Allow"
    return allowed


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _matches(s: dict, action: str, resource: str, context: dict) -> bool:
    if "Action" in s and not any(_glob(a, action, case=False) for a in _listed(s["Action"])):
        return False
    if "NotAction" in s and any(_glob(a, action, case=False) for a in _listed(s["NotAction"])):
        return False
    if "Resource" in s and not any(_glob(p, resource) for p in _listed(s["Resource"])):
        return False
    if "NotResource" in s and any(_glob(p, resource) for p in _listed(s["NotResource"])):
        return False
    return all(_condition(op, block, context) for op, block in s.get("Condition", {}).items())


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    """IAM wildcards: * any run, ? one character; nothing else is special."""
    return _compiled(pattern, case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, case: bool):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE)


def _operator(op: str):
    """(set qualifier, base operator, if-exists) of a condition operator; unknown ones refused."""
    qualifier, _, base = op.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    known = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "ArnEquals", "ArnLike",
             "ArnNotEquals", "ArnNotLike", "Null", "Bool")
    if base not in known or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"the simulator does not evaluate the condition operator {op}")
    return qualifier, base, if_exists


def _condition(op: str, block: dict, context: dict) -> bool:
    qualifier, base, if_exists = _operator(op)
    for key, expected in block.items():
        expected = [str(e) for e in _listed(expected)]
        present = key in context
        values = [str(v) for v in context.get(key, [])]
        if base == "Null":
            if (expected[0].lower() == "true") != (not present or not values):
                return False
            continue
        if not present:
            if qualifier == "ForAllValues" or if_exists:
                continue
            return False
        one = _value_test(base, expected)
        if qualifier == "ForAllValues":
            ok = all(one(v) for v in values)
        elif qualifier == "ForAnyValue":
            ok = any(one(v) for v in values)
        else:
            ok = bool(values) and one(values[0])
        if not ok:
            return False
    return True


def _value_test(base: str, expected: list):
    """One value against the policy's values (any of them): exact for String(Not)Equals,
    wildcards for the Like operators and for ARNs (ArnEquals and ArnLike behave alike)."""
    if base == "Bool":
        test = lambda v: v.lower() in [e.lower() for e in expected]  # noqa: E731
    elif base in ("StringEquals", "StringNotEquals"):
        test = lambda v: v in expected  # noqa: E731
    else:
        test = lambda v: any(_glob(e, v) for e in expected)  # noqa: E731
    return (lambda v: not test(v)) if "Not" in base else test


def refusal(info: dict, params: dict, region: str):
    """None if the call is allowed; else AWS's AccessDenied (status, headers, body) for it."""
    token = _account.set(caller(info["access_key"])[0])
    try:
        return _refusal(info, params, region)
    finally:
        _account.reset(token)


def _refusal(info: dict, params: dict, region: str):
    policy = policy_for(info["access_key"], region)
    if policy is None:
        return None
    checks = checks_for(info["service"], info["operation"], params, region)
    if checks is None:
        return _denied(info, f"{info['service']}:{info['operation']}", "*", "the simulator cannot place this call")
    for action, resource, context in checks:
        if not decide(policy, action, resource, context):
            return _denied(info, action, resource, "no identity-based policy allows the action")
    return None


def _denied(info: dict, action: str, resource: str, why: str):
    message = (f"User: arn:aws:sts::{_account.get()}:assumed-role/ecs-deploy/{info['access_key']} is not authorized "
               f"to perform: {action} on resource: {resource} because {why}")
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if info["json"]:
        headers += [("Content-Type", "application/x-amz-json-1.1")]
        if info["service"] == "monitoring":
            headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return "400 Bad Request", headers, body.encode()
    headers.append(("Content-Type", "text/xml"))
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return "403 Forbidden", headers, body.encode()
