#!/usr/bin/env bash
# Moves the major tag (v1) to the commit of a release tag (v1.2.3), through the API (no stored
# git credentials). Pre-releases never move it.
set -euo pipefail
tag="$1"
case "$tag" in v[0-9]*.[0-9]*.[0-9]*) ;; *) echo "not a release tag: $tag" >&2; exit 2;; esac
case "$tag" in *-*) echo "pre-release: major tag left alone"; exit 0;; esac
major="${tag%%.*}"
sha="$(git rev-parse "$tag^{commit}")"
repo="${GITHUB_REPOSITORY:?}"
if gh api "repos/$repo/git/refs/tags/$major" >/dev/null 2>&1; then
  gh api -X PATCH "repos/$repo/git/refs/tags/$major" -f sha="$sha" -F force=true >/dev/null
else
  gh api -X POST "repos/$repo/git/refs" -f ref="refs/tags/$major" -f sha="$sha" >/dev/null
fi
echo "$major -> $sha"
