"""The instance metadata service (IMDS) of the local platform's EC2 instances.

Each instance of an environment is an EC2 instance in moto; this serves what its
169.254.169.254 would, by IMDSv2's rules, read live from that instance's metadata options:
  PUT /latest/api/token                        a session token (TTL header required, 1-21600 s)
  GET /latest/meta-data/instance-id, placement/region, placement/availability-zone
  GET /latest/meta-data/iam/info, iam/security-credentials/[<role>]
                                               the instance profile's role credentials, from
                                               STS AssumeRole in moto (404 without a profile)
  GET /latest/dynamic/instance-identity/document
One server answers for every instance, under /<instance id>/<hops>/: `hops` is how many network
hops the caller is from the instance. The platform gives the instance's hooks the 1-hop address
and the app (a container on Docker's bridge, one hop further on EB) the 2-hop one.

As on EC2 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html):
- a token answer travels HttpPutResponseHopLimit hops at most: asked from further away, it never
  arrives (here: the connection is closed without an answer);
- with HttpTokens `required` (IMDSv1 off), a GET without a valid token gets 401;
- a token is valid only on the instance that issued it, until its TTL ends;
- with HttpEndpoint `disabled`, nothing answers.
"""

import json
import secrets
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
MAX_TTL = 21600
# Role credentials are handed out for an hour and renewed well before they run out, as EC2 does.
CREDENTIAL_SECONDS = 3600
RENEW_BEFORE_SECONDS = 1200
RENEW_CHECK_SECONDS = 60


class Machine:
    """What the metadata service knows about one instance."""

    def __init__(self, instance_id, region, zone, account_id, role_arn):
        self.instance_id = instance_id
        self.region = region
        self.zone = zone
        self.account_id = account_id
        self.role_arn = role_arn
        self.credentials = None

    @property
    def role_name(self):
        return self.role_arn.rsplit("/", 1)[-1] if self.role_arn else None


class MetadataService:
    def __init__(self, host, port, sts_client, options_of):
        """`sts_client`: boto3 STS client of the local cloud; `options_of(machine)`: the
        instance's live metadata options (moto's MetadataOptions) or None once it is gone."""
        self.host, self.port = host, port
        self.sts = sts_client
        self.options_of = options_of
        self.machines = {}
        self.tokens = {}
        # {access key id: (role ARN, instance id)} of the credentials handed out: calls signed with
        # them come from an instance.
        self.issued = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = None

    # Registry -------------------------------------------------------------------------------

    def add(self, machine):
        """Serves `machine` from now on, its role's credentials fetched already (as EC2 has them
        before the instance boots): an SDK's metadata reads time out after 1 s, an STS call
        answered while the local cloud is busy may take longer."""
        if machine.role_arn:
            self._renew(machine)
        with self.lock:
            self.machines[machine.instance_id] = machine

    def remove(self, instance_id):
        with self.lock:
            self.machines.pop(instance_id, None)
            self.tokens = {token: value for token, value in self.tokens.items() if value[0] != instance_id}

    def endpoint(self, instance_id, hops):
        """The address an SDK on `instance_id`, `hops` hops away, uses (AWS_EC2_METADATA_SERVICE_ENDPOINT)."""
        return "http://%s:%d/%s/%d/" % (self.host, self.port, instance_id, hops)

    # Server -----------------------------------------------------------------------------------

    def start(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self):  # noqa: N802 (http.server's naming)
                service.handle(self, "PUT")

            def do_GET(self):  # noqa: N802
                service.handle(self, "GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._renew_due, daemon=True).start()
        return self

    def stop(self):
        self.stopping.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # Requests ---------------------------------------------------------------------------------

    def handle(self, request, method):
        parts = request.path.split("?", 1)[0].lstrip("/").split("/", 2)
        if len(parts) < 3 or not parts[1].isdigit():
            return _answer(request, 404, "Not Found")
        instance_id, hops, path = parts[0], int(parts[1]), "/" + parts[2]
        with self.lock:
            machine = self.machines.get(instance_id)
        settings = self.options_of(machine) if machine else None
        if settings is None or settings.http_endpoint != "enabled":
            return _drop(request)
        if method == "PUT":
            if path != "/latest/api/token":
                return _answer(request, 405, "Method Not Allowed")
            return self._token(request, machine, settings, hops)
        if path == "/latest/api/token":
            return _answer(request, 405, "Method Not Allowed")
        token = request.headers.get(TOKEN_HEADER)
        if token is not None or settings.http_tokens == "required":
            with self.lock:
                owner, expires = self.tokens.get(token, (None, 0))
            if owner != instance_id or expires < time.time():
                return _answer(request, 401, "Unauthorized")
        body = self._read(machine, path)
        if body is None:
            return _answer(request, 404, "Not Found")
        return _answer(request, 200, body)

    def _token(self, request, machine, settings, hops):
        if request.headers.get("X-Forwarded-For"):
            # IMDS refuses token requests that went through a proxy.
            return _answer(request, 403, "Forbidden")
        try:
            ttl = int(request.headers.get(TTL_HEADER, ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TTL:
            return _answer(request, 400, "Bad Request")
        if hops > settings.http_put_response_hop_limit:
            # The answer's IP TTL runs out on the way: the caller never hears back.
            return _drop(request)
        token = secrets.token_urlsafe(40)
        now = time.time()
        with self.lock:
            self.tokens = {key: value for key, value in self.tokens.items() if value[1] > now}
            self.tokens[token] = (machine.instance_id, now + ttl)
        return _answer(request, 200, token, {TTL_HEADER: str(ttl)})

    def _read(self, machine, path):
        if path == "/latest/meta-data/instance-id":
            return machine.instance_id
        if path == "/latest/meta-data/placement/region":
            return machine.region
        if path == "/latest/meta-data/placement/availability-zone":
            return machine.zone
        if path == "/latest/dynamic/instance-identity/document":
            return json.dumps({"instanceId": machine.instance_id, "region": machine.region, "availabilityZone": machine.zone,
                               "accountId": machine.account_id}, indent=2)
        if not machine.role_arn:
            return None
        if path == "/latest/meta-data/iam/info":
            return json.dumps({"Code": "Success", "LastUpdated": _now(),
                               "InstanceProfileArn": machine.role_arn.replace(":role/", ":instance-profile/")})
        if path in ("/latest/meta-data/iam/security-credentials", "/latest/meta-data/iam/security-credentials/"):
            return machine.role_name
        if path == "/latest/meta-data/iam/security-credentials/" + machine.role_name:
            return json.dumps(self._credentials(machine), indent=2)
        return None

    def _renew(self, machine):
        answer = self.sts.assume_role(RoleArn=machine.role_arn, RoleSessionName=machine.instance_id,
                                      DurationSeconds=CREDENTIAL_SECONDS)["Credentials"]
        with self.lock:
            machine.credentials = {"answer": answer, "expires": answer["Expiration"].timestamp()}
            self.issued[answer["AccessKeyId"]] = (machine.role_arn, machine.instance_id)

    def _renew_due(self):
        """Renews credentials well before they run out, away from the requests that read them."""
        while not self.stopping.wait(RENEW_CHECK_SECONDS):
            with self.lock:
                due = [machine for machine in self.machines.values() if machine.role_arn and (
                    machine.credentials is None or machine.credentials["expires"] - time.time() < RENEW_BEFORE_SECONDS)]
            for machine in due:
                try:
                    self._renew(machine)
                except Exception:  # pylint: disable=broad-except
                    pass  # tried again at the next check; the current ones are still valid

    def _credentials(self, machine):
        with self.lock:
            current = machine.credentials
        if current is None:
            self._renew(machine)
            with self.lock:
                current = machine.credentials
        answer = current["answer"]
        return {"Code": "Success", "LastUpdated": _now(), "Type": "AWS-HMAC", "AccessKeyId": answer["AccessKeyId"],
                "SecretAccessKey": answer["SecretAccessKey"], "Token": answer["SessionToken"],
                "Expiration": answer["Expiration"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer(request, status, body, headers=None):
    data = body.encode()
    request.send_response(status)
    request.send_header("Content-Type", "text/plain")
    request.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)


def _drop(request):
    """No answer at all: the connection is closed, as a packet that never arrives would look to a client that gave up."""
    request.close_connection = True
