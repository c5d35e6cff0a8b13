"""STS AssumeRole as AWS decides it: the role must exist and trust the caller.

moto lets any caller assume any role ARN, even one that does not exist ("the role does not need
to exist"). AWS refuses unless the role exists in its account and its trust policy allows the
caller (IAM User Guide, "Granting a user permissions to switch roles": both the caller's
identity policy and the role's trust policy must allow sts:AssumeRole). Here a trust statement
allows the caller when its Effect is Allow, its Action is sts:AssumeRole (or sts:*, *), and its
Principal.AWS names the caller's account (`123456789012`, `arn:aws:iam::123456789012:root`),
the caller's role ARN, or `*`. A Condition is honoured for `sts:ExternalId` (StringEquals);
any other condition is not evaluated and does not allow (the less forgiving reading). The
refusal is AWS's: AccessDenied, "User: … is not authorized to perform: sts:AssumeRole on
resource: …". The caller's identity policy is checked by iam_policy.py before this.
"""
import json
import re

from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse

from . import iam_policy

ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")

_orig_assume_role = TokenResponse.assume_role


class AccessDenied(STSClientError):
    def __init__(self, message: str):
        super().__init__("AccessDenied", message)


def _allows(statement: dict, account: str, role_arn: str | None, external_id: str | None) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
        return False
    principal = statement.get("Principal", {})
    named = principal.get("AWS", []) if isinstance(principal, dict) else principal
    named = [named] if isinstance(named, str) else named
    if not any(p in ("*", account, f"arn:aws:iam::{account}:root") or (role_arn and p == role_arn) for p in named):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            expected = [expected] if isinstance(expected, str) else expected
            if operator != "StringEquals" or key != "sts:ExternalId" or external_id not in expected:
                return False
    return True


def _assume_role(self):
    role_arn = self._get_param("RoleArn") or ""
    account, caller_role = iam_policy.caller(self.get_access_key())
    who = caller_role or f"arn:aws:iam::{account}:root"
    denied = AccessDenied(f"User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    m = ROLE_ARN.match(role_arn)
    if not m:
        raise denied
    target, name = m.groups()
    role = next((r for r in iam_backends[target]["aws"].roles.values() if r.name == name), None)
    if role is None:
        raise denied
    try:
        trust = json.loads(role.assume_role_policy_document or "{}")
    except ValueError:
        raise denied
    statements = trust.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if not any(_allows(s, account, caller_role, self._get_param("ExternalId")) for s in statements):
        raise denied
    return _orig_assume_role(self)


def install() -> None:
    TokenResponse.assume_role = _assume_role
