#!/usr/bin/env bash
# Builds and deploys the AWS stack of deploy/aws/template.yaml: `sam build` (cargo lambda,
# arm64, one binary for every function) then `sam deploy`, both with
# --config-file deploy/aws/samconfig.toml.
#
#   scripts/deploy.sh --dry-run                 # print the commands and the parameters
#   scripts/deploy.sh                           # build and deploy (asks before changing)
#   scripts/deploy.sh --param AdminGroup=mods   # override a parameter (repeatable)
#   scripts/deploy.sh --config-env staging      # another [env] of samconfig.toml
#   scripts/deploy.sh -- --no-confirm-changeset # the rest goes to `sam deploy`
#
# Parameters: samconfig.toml's parameter_overrides, then --param; the Expo access token
# comes from $EXPO_ACCESS_TOKEN only (never from a file in the repository) and is
# printed masked. A real run refuses placeholders (REPLACE_ME) and missing required
# parameters, and needs: the SAM CLI (on PATH, or the one scripts/aws-lint.sh installs
# into target/sam-venv), the AWS CLI with credentials and a region, cargo with
# cargo-lambda (`pip install cargo-lambda` or `cargo install cargo-lambda`). After the
# build it refuses a binary built without the `aws` feature.
#
# --dry-run needs none of those, touches no account and runs nothing but this script.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

template="$root/deploy/aws/template.yaml"
config="$root/deploy/aws/samconfig.toml"
build_dir="$root/target/sam-build"

dry_run=false
config_env=default
params=()
deploy_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=true ;;
        --config-env) config_env="${2:?--config-env needs a name}"; shift ;;
        --param) params+=("${2:?--param needs Name=Value}"); shift ;;
        --) shift; deploy_args=("$@"); break ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "deploy.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Resolves the parameters: samconfig.toml's, then --param, then the token from the
# environment. `show` prints them (the token masked) with the problems found; `args`
# prints Name=Value lines for sam deploy. Exit 2: a broken configuration; 3: only
# placeholders or missing required values.
resolve() {
    python3 - "$1" "$config" "$config_env" "$template" "${params[@]+"${params[@]}"}" <<'PY'
import os, re, sys
try:
    import tomllib
except ImportError:
    sys.exit("deploy.sh: needs Python 3.11 or later (tomllib) to read samconfig.toml")
mode, config, env, template, *extra = sys.argv[1:]

# The template's parameters: name -> (has a default, NoEcho), read from its text.
declared, current, section = {}, None, None
for line in open(template, encoding="utf-8"):
    if re.match(r"^\S", line):
        section = line.split(":")[0]
        continue
    if section != "Parameters":
        continue
    m = re.match(r"^  (\w+):\s*$", line)
    if m:
        current = m.group(1)
        declared[current] = [False, False]
    elif current and re.match(r"^    Default:", line):
        declared[current][0] = True
    elif current and re.match(r"^    NoEcho:\s*true", line):
        declared[current][1] = True

with open(config, "rb") as f:
    cfg = tomllib.load(f)
if env not in cfg:
    sys.exit(f"deploy.sh: no [{env}] environment in {config}")
deploy = cfg[env].get("deploy", {}).get("parameters", {})
glob = cfg[env].get("global", {}).get("parameters", {})
raw = deploy.get("parameter_overrides", [])
pairs = raw if isinstance(raw, list) else raw.split()
errors, problems, values, origin = [], [], {}, {}
for source, items in (("samconfig.toml", pairs), ("--param", extra)):
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            errors.append(f"{source}: {item!r} is not Name=Value")
            continue
        value = value.strip().strip('"').strip("'")
        if name not in declared:
            errors.append(f"{source}: {name} is not a parameter of the template")
            continue
        if declared[name][1] and source == "samconfig.toml" and value:
            errors.append(f"{source}: {name} is a secret; give it by environment variable, not in the file")
        values[name], origin[name] = value, source
token = os.environ.get("EXPO_ACCESS_TOKEN", "")
if token:
    values["ExpoAccessToken"], origin["ExpoAccessToken"] = token, "$EXPO_ACCESS_TOKEN"
for name, (has_default, _) in declared.items():
    v = values.get(name)
    if v is not None and "REPLACE_ME" in v:
        problems.append(f"{name} is still a placeholder (REPLACE_ME)")
    elif v is None and not has_default:
        problems.append(f"{name} is required and not given")

if mode == "show":
    print(f"stack:   {glob.get('stack_name', deploy.get('stack_name', '?'))} (config env {env})")
    print(f"region:  {glob.get('region') or deploy.get('region') or os.environ.get('AWS_REGION') or 'the AWS CLI profile region'}")
    print("parameters (unlisted ones take the template's defaults):")
    for name in declared:
        if name in values:
            v = values[name]
            shown = ("*" * 8 if v else "(empty)") if declared[name][1] else (v if v else "(empty)")
            print(f"  {name} = {shown}   [{origin[name]}]")
    for name in declared:
        if name not in values:
            print(f"  {name}: template default" if declared[name][0] else f"  {name}: MISSING")
    for e in errors:
        print(f"error: {e}")
    for p in problems:
        print(f"not deployable yet: {p}")
elif mode == "args":
    for name, v in values.items():
        print(f"{name}={v}")
else:
    sys.exit(f"unknown mode {mode}")
sys.exit(2 if errors else 3 if problems else 0)
PY
}

sam_cmd() {
    if command -v sam >/dev/null 2>&1; then echo sam
    elif [ -x "$root/target/sam-venv/bin/sam" ]; then echo "$root/target/sam-venv/bin/sam"
    else echo sam
    fi
}

build_cmd=("$(sam_cmd)" build --template-file "$template" --config-file "$config"
    --config-env "$config_env" --build-dir "$build_dir")
deploy_base=("$(sam_cmd)" deploy --template-file "$build_dir/template.yaml"
    --config-file "$config" --config-env "$config_env")

status=0
summary=$(resolve show) || status=$?
echo "== deployment of deploy/aws/template.yaml"
printf '%s\n' "$summary" | sed 's/^/   /'
if [ "$status" = 2 ]; then
    echo "deploy.sh: samconfig.toml or --param is broken (errors above)" >&2
    exit 2
fi

if $dry_run; then
    echo "== would run (nothing is run in a dry run; credentials are not checked):"
    echo "   ${build_cmd[*]}"
    echo "   (then refuse the build unless $build_dir/UsersFunction/bootstrap has the aws feature)"
    echo "   ${deploy_base[*]} --parameter-overrides <the parameters above> ${deploy_args[*]-}"
    [ "$status" = 0 ] || echo "== not deployable as configured (see 'not deployable yet' above)"
    exit 0
fi

[ "$status" = 0 ] || { echo "deploy.sh: replace the placeholders and give the required parameters first (deploy/aws/samconfig.toml or --param)" >&2; exit 1; }

missing=()
command -v "$(sam_cmd)" >/dev/null 2>&1 || missing+=("the SAM CLI (pip install aws-sam-cli, or scripts/aws-lint.sh installs it into target/sam-venv)")
command -v aws >/dev/null 2>&1 || missing+=("the AWS CLI (aws), configured with credentials: aws configure, or AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
command -v cargo >/dev/null 2>&1 && cargo lambda --version >/dev/null 2>&1 \
    || missing+=("cargo with cargo-lambda (pip install cargo-lambda, or cargo install cargo-lambda)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "deploy.sh: cannot deploy; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi
if ! account=$(aws sts get-caller-identity --query Account --output text 2>/dev/null); then
    echo "deploy.sh: the AWS CLI has no working credentials. Configure them (aws configure," >&2
    echo "aws sso login, or AWS_PROFILE / AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY) for an" >&2
    echo "identity allowed to create the stack's resources (IAM roles included), then retry." >&2
    exit 1
fi
if [ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}" ] && [ -z "$(aws configure get region 2>/dev/null || true)" ] \
    && ! grep -Eq '^[[:space:]]*region[[:space:]]*=' "$config"; then
    echo "deploy.sh: no region: set AWS_REGION, the profile's region, or region in samconfig.toml" >&2
    exit 1
fi
echo "== account $account"

echo "== ${build_cmd[*]}"
"${build_cmd[@]}"
# SAM passes no cargo features (it reads only `Binary` from BuildProperties): the aws
# feature must come from cargo-lambda's own configuration. A binary without it would
# answer every request with a configuration error, so it is refused here.
if ! grep -aq "DynamoDB_20120810" "$build_dir/UsersFunction/bootstrap"; then
    echo "deploy.sh: the built binary lacks the aws feature (no DynamoDB client in it);" >&2
    echo "see deploy/aws/README.md, 'The aws feature'." >&2
    exit 1
fi

mapfile -t overrides < <(resolve args)
echo "== $(IFS=' '; echo "${deploy_base[*]}") --parameter-overrides (${#overrides[@]} values) ${deploy_args[*]-}"
"${deploy_base[@]}" --parameter-overrides "${overrides[@]}" "${deploy_args[@]+"${deploy_args[@]}"}"
