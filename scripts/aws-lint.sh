#!/usr/bin/env bash
# Checks the AWS deployment (deploy/aws/) offline: no account, no network.
#
# 1. cfn-lint on deploy/aws/template.yaml: no error, warning or informational finding
#    (a rule ignored on purpose is listed, with its reason, in the template's
#    Metadata: cfn-lint section);
# 2. `sam validate` (SAM's own translation of the template) and `sam validate --lint`;
# 3. scripts/iam_check.py --self-test (each kind of bad IAM statement it knows must be
#    caught), then scripts/iam_check.py on the template: IAM statement shapes and
#    action names (cfn-lint skips IAM actions in SAM templates), each function's
#    tables and bucket against its allowlist, the API's routes against the routes the
#    server mounts, and the stream filters against sample job records;
# 4. scripts/deploy.sh --dry-run: samconfig.toml parses and names only parameters the
#    template has.
#
# cfn-lint and the SAM CLI come from PyPI, pinned, in a venv under target/sam-venv.
# They run with a dummy region and credentials, and inside a network namespace of their
# own when `unshare -n` works (root), so a check that reached for the network would fail
# here rather than pass on a developer's machine only.
#
# Under CI=true a failure to install is an error (exit 1), never a skip; elsewhere it
# is reported and the checks are skipped (exit 0), e.g. on a machine without PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

cfn_lint_version="1.58.0"
sam_cli_version="1.170.0"
venv="target/sam-venv"
template="deploy/aws/template.yaml"

say() { printf '== %s\n' "$*"; }
started=$(date +%s)

install_failed() {
    if [ "${CI:-}" = true ]; then
        echo "aws-lint: $1 (CI=true: this is an error, not a skip)" >&2
        exit 1
    fi
    echo "aws-lint: $1; SKIPPED (under CI=true this fails)" >&2
    exit 0
}

# The versions are read into variables first: `pip show | grep -q` under pipefail fails
# whenever grep stops reading before pip has written everything.
have_cfn="" have_sam=""
if [ -x "$venv/bin/pip" ]; then
    have_cfn=$("$venv/bin/pip" show cfn-lint 2>/dev/null | sed -n 's/^Version: //p' || true)
    have_sam=$("$venv/bin/pip" show aws-sam-cli 2>/dev/null | sed -n 's/^Version: //p' || true)
fi
if [ "$have_cfn" != "$cfn_lint_version" ] || [ "$have_sam" != "$sam_cli_version" ] \
    || [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
    say "installing cfn-lint $cfn_lint_version and aws-sam-cli $sam_cli_version into $venv"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        # Debian's python3 keeps venv in a separate package.
        rm -rf "$venv"
        apt_get=(apt-get); [ "$(id -u)" = 0 ] || apt_get=(sudo apt-get)
        "${apt_get[@]}" install -y python3-venv >/dev/null 2>&1 \
            || install_failed "python3 -m venv does not work and python3-venv did not install"
        python3 -m venv "$venv" || install_failed "python3 -m venv failed"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "cfn-lint==$cfn_lint_version" "aws-sam-cli==$sam_cli_version" \
        || { rm -rf "$venv"; install_failed "pip could not install cfn-lint and aws-sam-cli"; }
fi

# Offline, with throw-away credentials: nothing here may need an account.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTEXT=aws-lint
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL 2>/dev/null || true
offline=()
if unshare -n true 2>/dev/null; then
    offline=(unshare -n)
    say "checks run without network (unshare -n)"
else
    say "checks run with the network reachable (unshare -n is not available here)"
fi

say "cfn-lint $cfn_lint_version $template"
"${offline[@]}" "$venv/bin/cfn-lint" "$template"

say "sam validate (SAM CLI $sam_cli_version)"
"${offline[@]}" "$venv/bin/sam" validate --template "$template" --region us-east-1
"${offline[@]}" "$venv/bin/sam" validate --lint --template "$template" --region us-east-1

say "scripts/iam_check.py --self-test"
"${offline[@]}" "$venv/bin/python" scripts/iam_check.py --self-test
say "scripts/iam_check.py $template"
"${offline[@]}" "$venv/bin/python" scripts/iam_check.py "$template"

say "scripts/deploy.sh --dry-run"
"${offline[@]}" scripts/deploy.sh --dry-run >/dev/null

say "aws-lint: all checks passed in $(( $(date +%s) - started )) s"
