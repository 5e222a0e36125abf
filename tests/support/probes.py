"""The attacks the security tests try: paths that must need credentials, and bad credentials.

The users are those of the session's rendered bundle (tests/conftest.py): alice and bob.
"""

import base64


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


# Every path but /health needs credentials, whatever its spelling.
PROTECTED = [
    "/",
    "/api/2.0/mlflow/experiments/search",
    "/ajax-api/2.0/mlflow/runs/search",
    "/graphql",
    "/api/2.0/mlflow-artifacts/artifacts/0/x",
    "/get-artifact?path=x&run_uuid=y",
    "/model-versions/get-artifact?path=x",
    "/static-files/index.html",
    "/version",
    "/healthz",
    "/health/",
    "/HEALTH",
    "/health/../api/2.0/mlflow/experiments/search",
    "/health/%2e%2e/api/2.0/mlflow/experiments/search",
    "/%2e%2e/",
    "//api/2.0/mlflow/experiments/search",
    "/health%2F..%2Fapi",
    "/./health/../graphql",
    # MLflow 3's newer routers (FastAPI): traces, server info, the gateway, the assistant, jobs,
    # MCP servers, webhooks.
    "/v1/traces",
    "/ajax-api/3.0/mlflow/server-info",
    "/ajax-api/3.0/mlflow/traces/search",
    "/gateway/chat/mlflow/invocations",
    "/api/3.0/mlflow/gateway/secrets/create",
    "/ajax-api/3.0/mlflow/assistant/config",
    "/ajax-api/3.0/jobs/search",
    "/ajax-api/3.0/mlflow/mcp-servers",
    "/api/2.0/mlflow/webhooks",
]
# Both kinds of request: POSTs carry a small JSON body, as an API call would.
METHODS = ["GET", "POST"]

BAD_CREDENTIALS = [
    basic("alice", "wrong-password-0000"),
    basic("alice", ""),
    basic("alice", "bob-Password-000002"),  # another user's password
    basic("nobody", "alice-Password-0001"),
    {"Authorization": "Basic " + base64.b64encode(b"alice").decode()},  # user only
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Bearer alice-Password-0001"},
    {"Authorization": "Basic"},
]
BAD_CREDENTIAL_IDS = ["wrong", "empty", "other-users", "unknown-user", "user-only", "malformed", "bearer", "no-value"]


def send(connection, path, host, headers=None, method="GET", body=None):
    """One request exactly as given (its own Host header, no Accept-Encoding); returns status, body, response."""
    if body is None and method == "POST":
        body = b'{"name": "probe"}'
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, response
