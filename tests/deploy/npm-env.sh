# shellcheck shell=bash
# Sourceable: deploy_npm_ci installs tests/deploy/node_modules from its lock file.
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib/npm_ci.sh
source "$DEPLOY_DIR/../lib/npm_ci.sh"
deploy_npm_ci() { npm_ci_in "$DEPLOY_DIR"; }
