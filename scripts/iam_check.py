#!/usr/bin/env python3
"""Checks deploy/aws/template.yaml for what cfn-lint does not: IAM statement shapes,
each function's tables and bucket against an allowlist, and the API's routes against
the routes the server mounts.

    scripts/iam_check.py [TEMPLATE]     # deploy/aws/template.yaml by default
    scripts/iam_check.py --self-test    # feeds it bad statements; each must be caught

Run by scripts/aws-lint.sh with the venv's Python (PyYAML, and cfn-lint's table of IAM
actions for IAM007). Exits 1 on any finding.

Statement rules (every policy document in the template: managed policies, the inline
policies of functions and roles, bucket and queue policies; trust policies excepted):
  IAM001  Effect is neither Allow nor Deny.
  IAM002  An Allow whose Action is "*", "service:*" or holds any other wildcard.
  IAM003  A statement without Resource (or NotResource).
  IAM004  An Allow on Resource "*" for an action that takes a narrower resource: only
          the actions in STAR_RESOURCE_ACTIONS (each with its reason) may use "*".
  IAM005  NotAction or NotResource in an Allow.
  IAM006  A statement without Action (or NotAction).
  IAM007  An action IAM does not know (cfn-lint skips this check in SAM templates),
          e.g. dynamodb:TransactWriteItems, which is authorised per item action.
  IAM008  An Allow on every table or every bucket (`table/*`, `arn:aws:s3:::*`).
Function rules (AWS::Serverless::Function, through Policies and the managed policies
they reference):
  IAM010  A function names a table, the bucket or the dead-letter queue that its
          ALLOWLIST entry does not list.
  IAM011  A function's ALLOWLIST entry lists something its policies do not grant
          (the allowlist and the template disagree: fix one).
  IAM012  A function without an ALLOWLIST entry, or an entry without a function.
  IAM013  A policy the check cannot read: a managed policy by name or ARN, a SAM
          policy template, a function with its own Role.
Route rules (the HttpApi events of every function):
  RT001   The routes differ from MOUNTED in app/tests/api/openapi.rs (less the built-in
          sign-in, /auth/* and /.well-known/jwks.json, not mounted with AUTH=cognito;
          a route whose last parameter is a key with slashes is `{proxy+}`).
  RT002   A route is public in the template but documented with the bearer security
          requirement (`security(("bearer" = []))`), or the other way round.
  RT003   A route goes to a function other than its service's.
Stream filter rule (the AWS::Lambda::EventSourceMapping FilterCriteria):
  FLT001  A sample record of the jobs stream wakes the wrong worker: a pending
          process_video job must reach VideoWorkerFunction only, a pending job of any
          other kind WorkerFunction only, and claims (state running), deletions,
          dead jobs and dedupe markers (JD#...) neither.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy/aws/template.yaml"

# What each function may use: tables (by service), "bucket", "dlq". Derived from the
# DynamoDB store (crates/store-dynamodb/src/*.rs: which `self.t.<table>` each trait
# method touches, through its helpers) and from which methods each service's routes,
# and its dependencies' functions, call. deploy/aws/README.md explains each line.
ALL_TABLES = {"users", "social", "posts", "notifications", "media", "scoops", "jobs"}
ALLOWLIST: dict[str, set[str]] = {
    # DELETE /me runs the account-deletion tail in the request: every table.
    "UsersFunction": set(ALL_TABLES),
    # Blocks edit home timelines (posts); resolving a report deletes posts, comments
    # and scoops with their notifications and media rows.
    "SocialFunction": set(ALL_TABLES),
    "PostsFunction": {"users", "social", "posts", "notifications", "media", "jobs"},
    # The inbox shows the posts and media that notifications are about.
    "NotificationsFunction": {"users", "social", "posts", "notifications", "media", "jobs"},
    "MediaFunction": {"users", "media", "jobs", "bucket"},
    "ScoopsFunction": {"users", "social", "media", "scoops", "jobs"},
    # GET /readyz: DescribeTable on the users table.
    "SystemFunction": {"users"},
    # Every job kind but transcodes: push, fan-out, purges (bucket), deletion tails.
    "WorkerFunction": set(ALL_TABLES) | {"bucket", "dlq"},
    "VideoWorkerFunction": {"media", "jobs", "bucket", "dlq"},
}

# Actions that take no narrower resource than "*" (the service authorization
# reference lists no resource type for them).
STAR_RESOURCE_ACTIONS = {
    # Lambda's stream poller lists the table's streams; ListStreams has no resource.
    "dynamodb:ListStreams": "no resource type: the action lists streams account-wide",
    # Not used yet; the usual needs of Lambda functions, kept here with their reason.
    "xray:PutTraceSegments": "no resource type (X-Ray tracing)",
    "xray:PutTelemetryRecords": "no resource type (X-Ray tracing)",
}

# What a template name points at: resources and parameters.
TOKENS = {
    **{f"{t.capitalize()}Table": t for t in ALL_TABLES},
    **{f"Existing{t.capitalize()}Table": t for t in ALL_TABLES},
    "ExistingJobsStreamArn": "jobs",
    "MediaBucket": "bucket",
    "ExistingBucket": "bucket",
    "JobsStreamFailures": "dlq",
}

# The services' functions and where their routes live.
SERVICE_FUNCTION = {
    "users": "UsersFunction",
    "social": "SocialFunction",
    "posts": "PostsFunction",
    "notifications": "NotificationsFunction",
    "media": "MediaFunction",
    "scoops": "ScoopsFunction",
    "app": "SystemFunction",
}
NOT_MOUNTED_WITH_COGNITO = re.compile(r"^/auth/|^/\.well-known/jwks\.json$")


# --------------------------------------------------------------------------- loading


class Loader(yaml.SafeLoader):
    """PyYAML that reads CloudFormation's short forms (!Ref, !Sub, !GetAtt, ...) as
    their long forms, and any other tag as a plain value."""


def _construct_tag(loader: Loader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


Loader.add_multi_constructor("!", _construct_tag)


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)  # noqa: S506 (a SafeLoader subclass)


# --------------------------------------------------------------------------- helpers


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def names_in(expr) -> set[str]:
    """Logical ids and parameters an expression refers to (Ref, GetAtt, ${} in Sub)."""
    found: set[str] = set()
    if isinstance(expr, dict):
        for k, v in expr.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                parts = v if isinstance(v, list) else str(v).split(".", 1)
                found.add(str(parts[0]))
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                for var in re.findall(r"\$\{([^}!]+)\}", str(text)):
                    found.add(var.split(".", 1)[0])
                if isinstance(v, list) and len(v) > 1:
                    found |= names_in(v[1])
            else:
                found |= names_in(v)
    elif isinstance(expr, list):
        for item in expr:
            found |= names_in(item)
    return found


def literal_strings(expr) -> list[str]:
    """The literal text in an expression (plain strings and Sub templates)."""
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, dict):
        out = []
        for k, v in expr.items():
            if k == "Fn::Sub":
                out.append(v[0] if isinstance(v, list) else v)
            elif k not in ("Ref", "Fn::GetAtt", "Condition"):
                out += literal_strings(v)
        return out
    if isinstance(expr, list):
        return [s for item in expr for s in literal_strings(item)]
    return []


def known_actions():
    """cfn-lint's table of IAM actions by service, or None without cfn-lint."""
    try:
        from cfnlint.data import AdditionalSpecs
        from cfnlint.helpers import load_resource
    except ImportError:
        return None
    data = load_resource(AdditionalSpecs, "Policies.json")
    return {svc: {a.lower(): info for a, info in body.get("Actions", {}).items()}
            for svc, body in data.items()}


# --------------------------------------------------------------------------- statements


class Findings:
    def __init__(self):
        self.items: list[tuple[str, str, str]] = []

    def add(self, rule: str, where: str, message: str):
        self.items.append((rule, where, message))

    def rules(self) -> set[str]:
        return {r for r, _, _ in self.items}


def check_statement(stmt, where: str, out: Findings, actions_db, resource_policy=False):
    if not isinstance(stmt, dict):
        out.add("IAM001", where, f"not a statement: {stmt!r}")
        return
    effect = stmt.get("Effect")
    if effect not in ("Allow", "Deny"):
        out.add("IAM001", where, f"Effect is {effect!r}, not Allow or Deny")
    allow = effect == "Allow"
    actions = as_list(stmt.get("Action"))
    if "Action" not in stmt and "NotAction" not in stmt:
        out.add("IAM006", where, "no Action")
    if "Resource" not in stmt and "NotResource" not in stmt:
        out.add("IAM003", where, "no Resource")
    if allow and ("NotAction" in stmt or "NotResource" in stmt):
        out.add("IAM005", where, "NotAction/NotResource in an Allow grants everything else")
    for a in actions:
        if not isinstance(a, str):
            out.add("IAM002", where, f"an action that is not a plain string: {a!r}")
            continue
        if allow and "*" in a:
            out.add("IAM002", where, f"wildcard action {a!r}")
        if actions_db is not None and a != "*" and "*" not in a:
            svc, _, name = a.partition(":")
            if svc.lower() not in actions_db or name.lower() not in actions_db[svc.lower()]:
                out.add("IAM007", where, f"{a!r} is not an IAM action")
    resources = as_list(stmt.get("Resource"))
    if allow and any(r == "*" for r in resources):
        wide = [a for a in actions if a not in STAR_RESOURCE_ACTIONS]
        if wide or not actions:
            out.add("IAM004", where, f'Resource "*" for {wide or "NotAction"}')
    if allow:
        for text in literal_strings(resources):
            if re.search(r":table/\*|:table/\$\{[^}]*\}\*|^arn:[^:]*:s3:::\*", str(text)):
                out.add("IAM008", where, f"every table or bucket: {text!r}")
    if resource_policy and "Principal" not in stmt and "NotPrincipal" not in stmt:
        out.add("IAM006", where, "a resource policy statement without Principal")


def check_document(doc, where: str, out: Findings, actions_db, resource_policy=False):
    if not isinstance(doc, dict) or "Statement" not in doc:
        out.add("IAM013", where, "a policy document without Statement")
        return []
    stmts = as_list(doc["Statement"])
    for i, s in enumerate(stmts):
        sid = s.get("Sid", i) if isinstance(s, dict) else i
        check_statement(s, f"{where}/{sid}", out, actions_db, resource_policy)
    return stmts


def granted(stmts) -> set[str]:
    """What the Allow statements name: tables, bucket, dead-letter queue."""
    named: set[str] = set()
    for s in stmts:
        if isinstance(s, dict) and s.get("Effect") == "Allow":
            for n in names_in(s.get("Resource")):
                if n in TOKENS:
                    named.add(TOKENS[n])
    return named


def check_iam(t: dict, out: Findings, actions_db, whole_template=True):
    res = t.get("Resources", {})
    managed: dict[str, list] = {}
    for name, r in res.items():
        typ, props = r.get("Type"), r.get("Properties", {}) or {}
        if typ == "AWS::IAM::ManagedPolicy":
            managed[name] = check_document(props.get("PolicyDocument"), name, out, actions_db)
        elif typ == "AWS::IAM::Policy":
            check_document(props.get("PolicyDocument"), name, out, actions_db)
        elif typ == "AWS::IAM::Role":
            for p in as_list(props.get("Policies")):
                check_document(p.get("PolicyDocument"), f"{name}/{p.get('PolicyName')}", out, actions_db)
        elif typ in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            check_document(props.get("PolicyDocument"), name, out, actions_db, resource_policy=True)

    functions = {n: r for n, r in res.items() if r.get("Type") == "AWS::Serverless::Function"}
    for name, r in functions.items():
        props = r.get("Properties", {}) or {}
        if "Role" in props:
            out.add("IAM013", name, "a function with its own Role is not analysed")
        stmts = []
        for i, p in enumerate(as_list(props.get("Policies"))):
            where = f"{name}/Policies/{i}"
            if isinstance(p, dict) and set(p) == {"Ref"} and p["Ref"] in managed:
                stmts += managed[p["Ref"]]
            elif isinstance(p, dict) and "Statement" in p:
                stmts += check_document(p, where, out, actions_db)
            else:
                out.add("IAM013", where, f"cannot read this policy: {json.dumps(p)[:80]} "
                        "(write statements, or a managed policy in this template)")
        got = granted(stmts)
        allowed = ALLOWLIST.get(name)
        if allowed is None:
            out.add("IAM012", name, "no ALLOWLIST entry in scripts/iam_check.py")
            continue
        for extra in sorted(got - allowed):
            out.add("IAM010", name, f"granted {extra}, which its allowlist does not list")
        for missing in sorted(allowed - got):
            out.add("IAM011", name, f"its allowlist lists {missing}, which it is not granted")
    for name in sorted(set(ALLOWLIST) - set(functions) if whole_template else ()):
        out.add("IAM012", name, "an ALLOWLIST entry without a function in the template")


# --------------------------------------------------------------------------- routes


def template_path(path: str) -> str:
    """The API Gateway form of a server route: a key with slashes is {proxy+}."""
    m = re.match(r"^(.*?/)\{key\}(/.*)?$", path)
    if m:
        return m.group(1) + "{proxy+}"
    if path.startswith("/docs/"):
        return "/docs/{proxy+}"
    return path


def documented_routes(root: Path):
    """(method, template path) -> (service, public) from the #[utoipa::path] blocks."""
    routes = {}
    sources = [("app", f) for f in (root / "app/src").rglob("*.rs")]
    for svc_dir in sorted((root / "services").iterdir()):
        sources += [(svc_dir.name, f) for f in (svc_dir / "src").rglob("*.rs")]
    for service, f in sources:
        text = f.read_text(encoding="utf-8")
        for m in re.finditer(r"#\[utoipa::path\((.*?)\)\]\s*\n", text, re.S):
            body = m.group(1)
            method = re.match(r"\s*(\w+)", body).group(1).upper()
            path = re.search(r'path\s*=\s*"([^"]+)"', body).group(1)
            public = re.search(r'security\(\s*\(\s*"bearer"', body) is None
            routes[(method, template_path(path))] = (service, public)
    return routes


def mounted_routes(root: Path) -> set[tuple[str, str]]:
    text = (root / "app/tests/api/openapi.rs").read_text(encoding="utf-8")
    block = re.search(r"const MOUNTED: &\[\(&str, &str\)\] = &\[(.*?)\];", text, re.S).group(1)
    return {(m, p) for m, p in re.findall(r'\("(\w+)",\s*"([^"]+)"\)', block)}


def template_routes(t: dict):
    """(method, path) -> (function, public) from the functions' HttpApi events."""
    routes = {}
    for name, r in t.get("Resources", {}).items():
        if r.get("Type") != "AWS::Serverless::Function":
            continue
        for ev in (r.get("Properties", {}).get("Events") or {}).values():
            if ev.get("Type") != "HttpApi":
                continue
            p = ev.get("Properties", {})
            auth = (p.get("Auth") or {}).get("Authorizer")
            key = (str(p.get("Method")).upper(), p.get("Path"))
            if key in routes:
                out_dup = routes[key][0]
                routes[key] = (f"{out_dup}+{name}", auth == "NONE")
            else:
                routes[key] = (name, auth == "NONE")
    return routes


def check_routes(t: dict, out: Findings, root: Path = ROOT):
    mounted = {(m, template_path(p)) for m, p in mounted_routes(root)
               if not NOT_MOUNTED_WITH_COGNITO.search(p)}
    documented = {k: v for k, v in documented_routes(root).items()
                  if not NOT_MOUNTED_WITH_COGNITO.search(k[1])}
    tmpl = template_routes(t)
    for k in sorted(mounted - set(tmpl)):
        out.add("RT001", f"{k[0]} {k[1]}", "mounted by the server but not routed by the API")
    for k in sorted(set(tmpl) - mounted):
        out.add("RT001", f"{k[0]} {k[1]}", "routed by the API but not in MOUNTED")
    for k in sorted(set(documented) - mounted):
        out.add("RT001", f"{k[0]} {k[1]}", "documented (#[utoipa::path]) but not in MOUNTED")
    for k, (fn, public) in sorted(tmpl.items()):
        if k not in documented:
            continue
        service, doc_public = documented[k]
        if public != doc_public:
            want = "public" if doc_public else "behind the authorizer"
            out.add("RT002", f"{k[0]} {k[1]}", f"should be {want} (as documented)")
        if fn != SERVICE_FUNCTION[service]:
            out.add("RT003", f"{k[0]} {k[1]}", f"goes to {fn}, not {SERVICE_FUNCTION[service]}")


# --------------------------------------------------------------------------- stream filters


def matches(pattern, event) -> bool:
    """Lambda's event filtering for the operators the template uses: exact values,
    prefix and anything-but."""
    if not isinstance(event, dict):
        return False
    for key, want in pattern.items():
        if key not in event:
            return False
        got = event[key]
        if isinstance(want, dict):
            if not matches(want, got):
                return False
            continue
        ok = False
        for w in want:
            if isinstance(w, dict) and "prefix" in w:
                ok |= isinstance(got, str) and got.startswith(w["prefix"])
            elif isinstance(w, dict) and "anything-but" in w:
                ok |= got not in as_list(w["anything-but"])
            else:
                ok |= got == w
        if not ok:
            return False
    return True


def stream_record(event_name, pk, kind=None, state=None):
    image = {"pk": {"S": pk}, "sk": {"S": "_"}}
    if kind:
        image["kind"] = {"S": kind}
    if state:
        image["state"] = {"S": state}
    record = {"eventName": event_name, "eventSource": "aws:dynamodb",
              "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": "_"}}}}
    if event_name != "REMOVE":
        record["dynamodb"]["NewImage"] = image
    return record


def check_filters(t: dict, out: Findings):
    patterns: dict[str, list] = {}
    for name, r in t.get("Resources", {}).items():
        if r.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        fn = names_in(r.get("Properties", {}).get("FunctionName"))
        fn_name = next(iter(fn), name)
        for f in (r["Properties"].get("FilterCriteria") or {}).get("Filters", []):
            try:
                patterns.setdefault(fn_name, []).append(json.loads(f["Pattern"]))
            except (ValueError, KeyError, TypeError) as e:
                out.add("FLT001", name, f"a filter that is not JSON: {e}")
    samples = [
        (stream_record("INSERT", "J#1", "process_video", "pending"), {"VideoWorkerFunction"}),
        (stream_record("MODIFY", "J#1", "process_video", "pending"), {"VideoWorkerFunction"}),
        (stream_record("INSERT", "J#2", "push", "pending"), {"WorkerFunction"}),
        (stream_record("MODIFY", "J#3", "purge_media", "pending"), {"WorkerFunction"}),
        (stream_record("INSERT", "J#4", "store_tail", "pending"), {"WorkerFunction"}),
        (stream_record("MODIFY", "J#1", "process_video", "running"), set()),
        (stream_record("MODIFY", "J#2", "push", "running"), set()),
        (stream_record("MODIFY", "J#2", "push", "dead"), set()),
        (stream_record("REMOVE", "J#2"), set()),
        (stream_record("INSERT", "JD#tail:x", None, None), set()),
    ]
    for record, want in samples:
        woken = {fn for fn, pats in patterns.items() if any(matches(p, record) for p in pats)}
        if woken != want:
            img = record["dynamodb"].get("NewImage", {})
            label = f"{record['eventName']} {img.get('kind', {}).get('S', '-')} {img.get('state', {}).get('S', '-')}"
            out.add("FLT001", label, f"wakes {sorted(woken) or 'nothing'}, not {sorted(want) or 'nothing'}")


# --------------------------------------------------------------------------- self-test


def self_test(actions_db) -> int:
    table_arn = {"Fn::GetAtt": ["UsersTable", "Arn"]}
    good = {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": table_arn}
    cases = [
        ("IAM001", {"Effect": "Permit", "Action": "dynamodb:GetItem", "Resource": table_arn}),
        ("IAM002", {"Effect": "Allow", "Action": "*", "Resource": table_arn}),
        ("IAM002", {"Effect": "Allow", "Action": "dynamodb:*", "Resource": table_arn}),
        ("IAM002", {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}),
        ("IAM003", {"Effect": "Allow", "Action": "dynamodb:GetItem"}),
        ("IAM004", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}),
        ("IAM004", {"Effect": "Allow", "Action": ["dynamodb:ListStreams", "s3:GetObject"], "Resource": "*"}),
        ("IAM005", {"Effect": "Allow", "NotAction": "iam:*", "Resource": table_arn}),
        ("IAM005", {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/x"}),
        ("IAM006", {"Effect": "Allow", "Resource": table_arn}),
        ("IAM008", {"Effect": "Allow", "Action": "dynamodb:GetItem",
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"}}),
    ]
    if actions_db is not None:
        cases.append(("IAM007", {"Effect": "Allow", "Action": "dynamodb:TransactWriteItems", "Resource": table_arn}))
    failures = 0

    def run(template, whole=True):
        out = Findings()
        check_iam(template, out, actions_db, whole)
        return out

    def fn(policies, name="MediaFunction"):
        return {"Resources": {name: {"Type": "AWS::Serverless::Function",
                                     "Properties": {"Policies": policies}}}}

    def expect(label, rule, out):
        nonlocal failures
        if rule in out.rules():
            print(f"  ok    {label}: caught as {rule}")
        else:
            failures += 1
            print(f"  FAIL  {label}: expected {rule}, got {sorted(out.rules()) or 'nothing'}")

    for rule, stmt in cases:
        out = run({"Resources": {"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [good, stmt]}}}}}, whole=False)
        expect(json.dumps(stmt)[:70], rule, out)

    # A function naming a table it does not use; one missing what it uses; one that
    # hides behind a policy template; a function with no allowlist entry.
    media_ok = [{"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["UsersTable", "Arn"]}},
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["MediaTable", "Arn"]}},
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["JobsTable", "Arn"]}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${MediaBucket.Arn}/*"}},
    ]}]
    extra = [{"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                             "Resource": {"Fn::If": ["C", {"Fn::GetAtt": ["PostsTable", "Arn"]},
                                                     {"Fn::Sub": "arn:aws:dynamodb:r:1:table/${ExistingPostsTable}"}]}}]}]
    template = fn(media_ok + extra)
    for n in ALLOWLIST:
        if n != "MediaFunction":
            template["Resources"][n] = {"Type": "AWS::Serverless::Function", "Properties": {
                "Policies": [{"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                             "Resource": {"Ref": f"{t.capitalize()}Table"}}]}
                             for t in sorted(ALLOWLIST[n] & ALL_TABLES)]
                + ([{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                    "Resource": {"Ref": "ExistingBucket"}}]}] if "bucket" in ALLOWLIST[n] else [])
                + ([{"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                    "Resource": {"Fn::GetAtt": ["JobsStreamFailures", "Arn"]}}]}] if "dlq" in ALLOWLIST[n] else [])}}
    out = run(template)
    expect("MediaFunction granted the posts table", "IAM010", out)
    unexpected = [i for i in out.items if i[0] != "IAM010" or i[1] != "MediaFunction"]
    if unexpected:
        failures += 1
        print(f"  FAIL  the rest of that template should pass, got {unexpected}")
    else:
        print("  ok    the other functions, exactly as allowlisted, pass")
    template["Resources"]["MediaFunction"]["Properties"]["Policies"] = [{"Statement": media_ok[0]["Statement"][:1]}]
    expect("MediaFunction missing media, jobs, bucket", "IAM011", run(template))
    template["Resources"]["MediaFunction"]["Properties"]["Policies"] = [{"DynamoDBCrudPolicy": {"TableName": "x"}}]
    expect("a SAM policy template", "IAM013", run(template))
    template["Resources"]["MediaFunction"]["Properties"]["Policies"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    expect("a managed policy by ARN", "IAM013", run(template))
    template["Resources"]["StrayFunction"] = {"Type": "AWS::Serverless::Function", "Properties": {}}
    expect("a function without an allowlist entry", "IAM012", run(template))
    # A good statement alone passes.
    out = run({"Resources": {"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "PolicyDocument": {"Statement": [good, {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"},
                                         {"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "arn:aws:s3:::b/*"}]}}}}},
              whole=False)
    if out.items:
        failures += 1
        print(f"  FAIL  good statements were flagged: {out.items}")
    else:
        print("  ok    good statements (and a broad Deny) pass")
    # Routes: the real template with one route made public and one moved.
    t = load(TEMPLATE)
    ev = t["Resources"]["UsersFunction"]["Properties"]["Events"]
    first = next(iter(ev.values()))
    first["Properties"]["Auth"] = {"Authorizer": "NONE"}
    out = Findings()
    check_routes(t, out)
    expect(f"{first['Properties']['Method']} {first['Properties']['Path']} made public", "RT002", out)
    t = load(TEMPLATE)
    ev = t["Resources"]["PostsFunction"]["Properties"]["Events"]
    moved = ev.popitem()[1]
    t["Resources"]["SocialFunction"]["Properties"]["Events"]["Moved"] = moved
    out = Findings()
    check_routes(t, out)
    expect("a posts route sent to SocialFunction", "RT003", out)
    t = load(TEMPLATE)
    t["Resources"]["ScoopsFunction"]["Properties"]["Events"].popitem()
    out = Findings()
    check_routes(t, out)
    expect("a scoops route left out", "RT001", out)
    t = load(TEMPLATE)
    esm = t["Resources"]["WorkerFunctionJobsStream"]["Properties"]["FilterCriteria"]["Filters"][0]
    esm["Pattern"] = esm["Pattern"].replace('"state":{"S":["pending"]},', "")
    out = Findings()
    check_filters(t, out)
    expect("the worker's filter without state = pending", "FLT001", out)
    if actions_db is None:
        print("  note  IAM007 not tested: cfn-lint's action table is not importable")
    print(f"self-test: {'FAILED' if failures else 'all caught'}")
    return 1 if failures else 0


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    actions_db = known_actions()
    if argv[1:2] == ["--self-test"]:
        return self_test(actions_db)
    path = Path(argv[1]) if len(argv) > 1 else TEMPLATE
    t = load(path)
    out = Findings()
    check_iam(t, out, actions_db)
    check_routes(t, out)
    check_filters(t, out)
    # The exceptions must really be actions without a resource type.
    if actions_db is not None:
        for a in STAR_RESOURCE_ACTIONS:
            svc, _, name = a.partition(":")
            info = actions_db.get(svc, {}).get(name.lower())
            if info is None or info.get("Resources"):
                out.add("IAM004", "STAR_RESOURCE_ACTIONS", f"{a} takes a resource type; it needs no exception")
    for rule, where, message in out.items:
        print(f"{rule} {where}: {message}")
    functions = sum(1 for r in t.get("Resources", {}).values() if r.get("Type") == "AWS::Serverless::Function")
    routes = len(template_routes(t))
    note = "" if actions_db is not None else " (action names not checked: no cfn-lint)"
    print(f"iam_check: {len(out.items)} finding(s) in {path.name}: {functions} functions, {routes} routes{note}")
    return 1 if out.items else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
