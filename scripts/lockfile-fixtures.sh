#!/usr/bin/env bash
# Regenerates the lockfile fixtures of client/tests/fixtures/<format>/ with
# the REAL package managers pinned in tools/package.json (installed into
# tools/node_modules by scripts/tools.sh), over one small project:
#
#   - a legacy-named package (JSONStream, capital letters) and its deps;
#   - a scoped package (@isaacs/string-locale-compare);
#   - an alias (lp -> npm:left-pad@1.3.0);
#   - a peer dependency (use-sync-external-store, peer react);
#   - an optional dependency (is-number) and a dev dependency (ms);
#   - a local folder dependency (file:./local-dep) and a local tarball
#     (file:./vendor/tiny-1.0.0.tgz);
#   - a workspace (packages/ws-a, which depends on ms).
#
# No git host is reachable from the build machines, so each lockfile's git
# dependency is a hand-written entry, added after the tool ran (see
# add_git_* below), in the exact form that tool writes for
# `github:gatelog/fixture-git#<sha>`.
#
# Needs the npm registry (nothing else). The tests never run this script:
# they read the committed fixtures, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/client/tests/fixtures
tools=$root/tools/node_modules
bash scripts/tools.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export npm_config_registry=https://registry.npmjs.org/
export npm_config_update_notifier=false
export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0 YARN_CACHE_FOLDER=$work/.yarn-cache
export YARN_ENABLE_IMMUTABLE_INSTALLS=0
export BUN_INSTALL_CACHE_DIR=$work/.bun-cache
export npm_config_store_dir=$work/.pnpm-store

# The project, in a fresh folder per tool ($1).
project() {
  local dir=$work/$1
  mkdir -p "$dir/local-dep" "$dir/packages/ws-a"
  cat >"$dir/package.json" <<'EOF'
{
  "name": "gatelog-fixture",
  "version": "1.0.0",
  "private": true,
  "workspaces": ["packages/*"],
  "dependencies": {
    "JSONStream": "1.3.5",
    "@isaacs/string-locale-compare": "1.1.0",
    "lp": "npm:left-pad@1.3.0",
    "react": "18.3.1",
    "use-sync-external-store": "1.2.0",
    "local-dep": "file:./local-dep",
    "tiny": "file:./vendor/tiny-1.0.0.tgz"
  },
  "devDependencies": { "ms": "2.1.3" },
  "optionalDependencies": { "is-number": "7.0.0" }
}
EOF
  cat >"$dir/local-dep/package.json" <<'EOF'
{ "name": "local-dep", "version": "0.1.0" }
EOF
  cat >"$dir/packages/ws-a/package.json" <<'EOF'
{ "name": "ws-a", "version": "0.2.0", "dependencies": { "ms": "2.1.3" } }
EOF
  mkdir -p "$dir/vendor/package"
  echo '{ "name": "tiny", "version": "1.0.0" }' >"$dir/vendor/package/package.json"
  tar -C "$dir/vendor" --mtime=2026-01-01 --owner=0 --group=0 --numeric-owner \
    -czf "$dir/vendor/tiny-1.0.0.tgz" package
  rm -r "$dir/vendor/package"
  printf 'packages:\n  - "packages/*"\n' >"$dir/pnpm-workspace.yaml"
  echo "$dir"
}

save() { # save SRC FORMAT
  mkdir -p "$out/$2"
  cp "$1" "$out/$2/"
  echo "==> $2/$(basename "$1")"
}

SHA=0123456789abcdef0123456789abcdef01234567

# npm, for comparison with the formats below.
dir=$(project npm)
(cd "$dir" && "$tools/.bin/npm" install --package-lock-only --ignore-scripts --no-audit --no-fund \
  --omit-lockfile-registry-resolved=false --loglevel=error)
save "$dir/package-lock.json" npm

# pnpm: 10.x writes lockfile 9.0, 8.x writes 6.0, 7.x writes 5.4.
pnpm_run() { # pnpm_run BIN FORMAT
  local dir
  dir=$(project "$2")
  (cd "$dir" && node "$1" install --lockfile-only --ignore-scripts --reporter=silent)
  save "$dir/pnpm-lock.yaml" "$2"
}
pnpm_run "$tools/pnpm/bin/pnpm.cjs" pnpm-v9
pnpm_run "$tools/pnpm8/bin/pnpm.cjs" pnpm-v6
pnpm_run "$tools/pnpm7/bin/pnpm.cjs" pnpm-v5.4

# Yarn classic (1.22.22).
dir=$(project yarn-v1)
(cd "$dir" && node "$tools/yarn/bin/yarn.js" install --ignore-scripts --non-interactive \
  --silent --no-progress --mode=update-lockfile 2>/dev/null ||
  node "$tools/yarn/bin/yarn.js" install --ignore-scripts --non-interactive --silent --no-progress)
save "$dir/yarn.lock" yarn-v1

# Yarn Berry (@yarnpkg/cli-dist 4.x): lockfile only, no linking.
dir=$(project yarn-berry)
touch "$dir/yarn.lock"
(cd "$dir" && node "$tools/@yarnpkg/cli-dist/bin/yarn.js" install --mode=update-lockfile >/dev/null)
save "$dir/yarn.lock" yarn-berry

# Bun (bun.lock, text; the default since bun 1.2).
dir=$(project bun)
(cd "$dir" && "$tools/.bin/bun" install --lockfile-only --ignore-scripts --no-progress >/dev/null)
save "$dir/bun.lock" bun

# The hand-written git dependency of each format, appended or merged in the
# form each tool writes it (`gitdep` from github:gatelog/fixture-git#SHA).
python3 - "$out" "$SHA" <<'PY'
import json, re, sys
out, sha = sys.argv[1], sys.argv[2]
def edit(path, f):
    with open(path) as fh: text = fh.read()
    with open(path, "w") as fh: fh.write(f(text))
# pnpm 9: a packages and a snapshots entry (pnpm's form for a git repository).
url = "https://github.com/gatelog/fixture-git.git"
edit(f"{out}/pnpm-v9/pnpm-lock.yaml", lambda t: t.replace("\nsnapshots:\n",
    f"\n  gitdep@git+{url}#{sha}:\n"
    f"    resolution: {{commit: {sha}, repo: '{url}', type: git}}\n"
    f"    version: 1.0.0\n\nsnapshots:\n", 1).rstrip("\n")
    + f"\n\n  gitdep@git+{url}#{sha}: {{}}\n")
# pnpm 6 and 5.4: a packages entry keyed by the tarball URL.
for d in ("pnpm-v6", "pnpm-v5.4"):
    key = (f"  github.com/gatelog/fixture-git/{sha}:\n" if d == "pnpm-v5.4"
           else f"  github.com/gatelog/fixture-git/{sha}:\n")
    edit(f"{out}/{d}/pnpm-lock.yaml", lambda t, key=key: t.rstrip("\n") + "\n\n" + key +
        f"    resolution: {{tarball: https://codeload.github.com/gatelog/fixture-git/tar.gz/{sha}}}\n"
        f"    name: gitdep\n    version: 1.0.0\n    dev: false\n")
# Yarn classic.
edit(f"{out}/yarn-v1/yarn.lock", lambda t: t.rstrip("\n") + "\n\n"
    f"\"gitdep@github:gatelog/fixture-git#{sha}\":\n  version \"1.0.0\"\n"
    f"  resolved \"https://codeload.github.com/gatelog/fixture-git/tar.gz/{sha}\"\n")
# Yarn Berry.
edit(f"{out}/yarn-berry/yarn.lock", lambda t: t.rstrip("\n") + "\n\n"
    f"\"gitdep@github:gatelog/fixture-git#{sha}\":\n  version: 1.0.0\n"
    f"  resolution: \"gitdep@https://github.com/gatelog/fixture-git.git#commit={sha}\"\n"
    f"  checksum: 10c0/{'ab' * 64}\n  languageName: node\n  linkType: hard\n")
# Bun: a git entry in "packages".
def bun(t):
    i = t.rindex("\n  }\n}")
    return t[:i] + "\n\n    \"gitdep\": [\"gitdep@github:gatelog/fixture-git#" + sha[:7] + "\", {}, \"gatelog-fixture-git-" + sha[:7] + "\"]," + t[i:]
edit(f"{out}/bun/bun.lock", bun)
# npm: a git package entry.
path = f"{out}/npm/package-lock.json"
doc = json.load(open(path))
doc["packages"]["node_modules/gitdep"] = {"version": "1.0.0",
    "resolved": f"git+ssh://git@github.com/gatelog/fixture-git.git#{sha}", "license": "MIT"}
json.dump(doc, open(path, "w"), indent=2); open(path, "a").write("\n")
PY
echo "fixtures written to $out"
