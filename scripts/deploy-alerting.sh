#!/bin/sh
# deploy-alerting.sh ENV [--validate-only]: the seed's deploy command line,
# kept working on the appliance. It bundles the local alerting configuration
# and deploys it over the appliance's API (smm-appliance deploy): validated
# there exactly as `smm-appliance check config`, applied as a new version,
# rolled back by the appliance itself if the reload fails.
#
#   ./scripts/deploy-alerting.sh staging --validate-only
#   ./scripts/deploy-alerting.sh staging
#   ./scripts/deploy-alerting.sh production
#
# Environments (URL, token file, CA file, configuration directory) come from
# ~/.config/smm-appliance/environments.yml or $SMM_DEPLOY_ENVIRONMENTS; see
# docs/deploy.md. $SMM_APPLIANCE names the binary (default: smm-appliance on
# $PATH).
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 ENVIRONMENT [--validate-only]" >&2
	exit 2
fi
exec "${SMM_APPLIANCE:-smm-appliance}" deploy "$@"
