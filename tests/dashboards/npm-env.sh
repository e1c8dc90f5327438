# shellcheck shell=bash
# Sourceable: dash_npm_ci installs tests/dashboards/node_modules from its lock file.
DASH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib/npm_ci.sh
source "$DASH_DIR/../lib/npm_ci.sh"
dash_npm_ci() { npm_ci_in "$DASH_DIR"; }
