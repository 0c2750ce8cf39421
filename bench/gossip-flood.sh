#!/usr/bin/env bash
# Gossip memory under a flood of large catalogs (issue 9, item 2): the node before the byte
# budgets and the node of this tree, in one invocation, peak RSS side by side.
# Usage: bench/gossip-flood.sh [BEFORE_ATMO] [AFTER_ATMO]
#   (defaults: /tmp/atmo-before and .build/debug/atmo; env COUNT=256 SIZE_MIB=3.5)
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${1:-/tmp/atmo-before}
AFTER=${2:-$(pwd)/.build/debug/atmo}
[ -x "$AFTER" ] || swift build --product atmo 2>&1 | tail -1
exec python3 bench/gossip-flood.py "before=$BEFORE" "after=$AFTER"
