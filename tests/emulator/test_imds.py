"""The local platform's instance metadata service (localcloud/imds.py) by IMDSv2's rules, in process
with a stand-in STS: hop limits, tokens, IMDSv1 off, and credentials ready before they are asked for."""

import http.client
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from localcloud.imds import Machine, MetadataService
from localcloud.procs import free_port

ROLE = "arn:aws:iam::123456789012:role/mlflow-eb-instance"


class StandInSTS:
    def __init__(self):
        self.calls = []

    def assume_role(self, **request):
        self.calls.append(request)
        number = len(self.calls)
        return {"Credentials": {"AccessKeyId": "ASIA%016d" % number, "SecretAccessKey": "secret-%d" % number, "SessionToken": "token-%d" % number,
                                "Expiration": datetime.now(timezone.utc) + timedelta(hours=1)}}


@pytest.fixture
def imds():
    sts = StandInSTS()
    options = {"i-1": SimpleNamespace(http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
               "i-2": SimpleNamespace(http_endpoint="enabled", http_tokens="optional", http_put_response_hop_limit=1)}
    service = MetadataService("127.0.0.1", free_port(), sts, lambda machine: options.get(machine.instance_id)).start()
    service.add(Machine("i-1", "eu-west-1", "eu-west-1a", "123456789012", ROLE))
    service.add(Machine("i-2", "eu-west-1", "eu-west-1b", "123456789012", None))
    yield SimpleNamespace(service=service, sts=sts, options=options)
    service.stop()


def ask(service, instance_id, hops, method, path, headers=None):
    """(status, body), or None when no answer ever comes."""
    connection = http.client.HTTPConnection(service.host, service.port, timeout=5)
    try:
        connection.request(method, "/%s/%d%s" % (instance_id, hops, path), headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None
    finally:
        connection.close()


def token(service, instance_id, hops=1, ttl="60"):
    answer = ask(service, instance_id, hops, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
    return answer[1] if answer and answer[0] == 200 else answer


def test_a_token_answer_goes_no_further_than_the_hop_limit(imds):
    assert isinstance(token(imds.service, "i-1", hops=1), str)
    assert token(imds.service, "i-1", hops=2) is None  # the container: never answered
    imds.options["i-1"].http_put_response_hop_limit = 2  # read live, as a modified instance
    assert isinstance(token(imds.service, "i-1", hops=2), str)


def test_imdsv1_off_means_no_read_without_a_valid_token_of_that_instance(imds):
    service = imds.service
    assert ask(service, "i-1", 1, "GET", "/latest/meta-data/instance-id")[0] == 401
    mine, theirs = token(service, "i-1"), token(service, "i-2")
    assert ask(service, "i-1", 1, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": mine}) == (200, "i-1")
    assert ask(service, "i-1", 1, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": theirs})[0] == 401
    assert ask(service, "i-1", 1, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": "forged"})[0] == 401
    # IMDSv1 still on (HttpTokens optional): a plain read works.
    assert ask(service, "i-2", 1, "GET", "/latest/meta-data/placement/region") == (200, "eu-west-1")


@pytest.mark.parametrize("headers, status", [
    ({}, 400),
    ({"X-aws-ec2-metadata-token-ttl-seconds": "0"}, 400),
    ({"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400),
    ({"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.9"}, 403),
])
def test_token_requests_imds_refuses(imds, headers, status):
    assert ask(imds.service, "i-1", 1, "PUT", "/latest/api/token", headers)[0] == status


def test_role_credentials_are_ready_before_they_are_asked_for(imds):
    service = imds.service
    assert len(imds.sts.calls) == 1 and imds.sts.calls[0]["RoleArn"] == ROLE and imds.sts.calls[0]["RoleSessionName"] == "i-1"
    headers = {"X-aws-ec2-metadata-token": token(service, "i-1")}
    assert ask(service, "i-1", 1, "GET", "/latest/meta-data/iam/security-credentials/", headers) == (200, "mlflow-eb-instance")
    status, body = ask(service, "i-1", 1, "GET", "/latest/meta-data/iam/security-credentials/mlflow-eb-instance", headers)
    credentials = json.loads(body)
    assert status == 200 and credentials["Code"] == "Success" and credentials["Token"] == "token-1"
    assert len(imds.sts.calls) == 1, "answered from what was fetched at launch"
    assert service.issued[credentials["AccessKeyId"]] == (ROLE, "i-1")
    # No instance profile: no credentials.
    other = {"X-aws-ec2-metadata-token": token(service, "i-2")}
    assert ask(service, "i-2", 1, "GET", "/latest/meta-data/iam/security-credentials/", other)[0] == 404


def test_a_disabled_endpoint_or_a_gone_instance_answers_nothing(imds):
    imds.options["i-1"].http_endpoint = "disabled"
    assert token(imds.service, "i-1") is None
    imds.service.remove("i-2")
    assert ask(imds.service, "i-2", 1, "GET", "/latest/meta-data/instance-id") is None
