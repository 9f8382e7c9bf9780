#!/usr/bin/env bash
# Publishes one action folder to its mirror repository (relman/<action>) under the release tag
# and the major tag: action.yml, the shared scripts it calls, and VERSION (so install.sh knows
# which release asset to fetch without the source tree).
set -euo pipefail
action="$1"; tag="$2"
case "$action" in *[!a-z-]*|'') echo "bad action name" >&2; exit 2;; esac
: "${MIRROR_TOKEN:?MIRROR_TOKEN is required}"
work="$(mktemp -d)"; trap 'rm -rf -- "$work"' EXIT
url="https://github.com/relman/$action.git"
auth="Authorization: basic $(printf 'x-access-token:%s' "$MIRROR_TOKEN" | base64 -w0)"
echo "::add-mask::$(printf 'x-access-token:%s' "$MIRROR_TOKEN" | base64 -w0)"
git -c "http.extraheader=$auth" clone -q --depth 1 "$url" "$work/m"
find "$work/m" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
cp "$action/action.yml" "$work/m/action.yml"
mkdir -p "$work/m/scripts" && cp scripts/install.sh scripts/ci-run.sh "$work/m/scripts/"
printf '%s\n' "${tag#v}" > "$work/m/VERSION"
cp LICENSE* "$work/m/" 2>/dev/null || true
cd "$work/m"
git add -A
git -c user.name="relman release" -c user.email="release@relman.invalid" commit -q -m "relman $tag" || true
major="${tag%%.*}"
git tag -f "$tag"; git tag -f "$major"
git -c "http.extraheader=$auth" push -q origin HEAD
git -c "http.extraheader=$auth" push -q -f origin "$tag" "$major"
echo "published relman/$action $tag ($major)"
