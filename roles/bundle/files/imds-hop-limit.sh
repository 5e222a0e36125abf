#!/usr/bin/env bash
# Lets the container reach the instance metadata service, so the SDK inside gets the instance
# profile's credentials. With IMDSv1 off (DisableIMDSv1), every metadata read needs an IMDSv2
# token, and EC2 sends the token's answer at most HttpPutResponseHopLimit network hops (1 by
# default): a container on Docker's bridge is one hop further and never gets it. EB has no
# option for the hop limit (aws/elastic-beanstalk-roadmap#242), so the instance raises its own to
# 2 (IMDSv1 stays off: options left out of the call keep their value). The instance profile's
# policy allows this call on its own environment's instances only.
# Runs as a prebuild hook (every application deploy, every new instance) and as a configuration
# deploy's prebuild confighook.
set -euo pipefail

imds="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
imds="${imds%/}"
token="$(curl --silent --show-error --fail --retry 3 --max-time 5 -X PUT "$imds/latest/api/token" \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"
metadata() {
  curl --silent --show-error --fail --retry 3 --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1"
}
instance_id="$(metadata instance-id)"
region="$(metadata placement/region)"

aws ec2 modify-instance-metadata-options --region "$region" --instance-id "$instance_id" \
  --http-put-response-hop-limit 2 --http-endpoint enabled --output text >/dev/null
echo "IMDSv2 token hop limit of $instance_id set to 2"
