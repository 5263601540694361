#!/usr/bin/env bash
# The one test command: README and CI (.ci/run) both call it.
# Checks formatting and lints, then runs every test of the workspace: unit tests, the
# store conformance suite on SQLite, the HTTP-level suite and the end-to-end tests that
# start the real binary. The embedded SQLite is compiled in, so nothing else needs to be
# installed or started yet; later backends add their setup here (and fail loudly in CI
# when it cannot be done, never skip).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/test.sh: cargo is not installed (https://rustup.rs)" >&2
    exit 1
fi
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add clippy rustfmt
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# nextest runs test binaries in parallel and ends with one summary line for the whole
# workspace; it is on this machine kind, and installed from crates.io where it is not.
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

echo "== cargo nextest run"
cargo nextest run --workspace --locked --no-fail-fast
