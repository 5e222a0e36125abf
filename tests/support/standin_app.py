"""Stands in for MLflow behind the bundle's auth layer: answers every request with its raw path.

`uvicorn --factory standin_app:create`, with the bundle's lib/ on PYTHONPATH and
MLFLOWOPS_USERS_FILE set. GET /_seen (with credentials) answers how many requests reached it.
"""

import os

import mlflowops_auth  # pylint: disable=import-error


class Recorder:
    def __init__(self):
        self.seen = 0

    async def __call__(self, scope, receive, send):
        if scope["path"] == "/_seen":
            body = str(self.seen).encode()
        else:
            self.seen += 1
            body = b"OK" if scope["path"] == "/health" else b"upstream:" + scope.get("raw_path", b"")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create():
    users = mlflowops_auth.load_users(os.environ[mlflowops_auth.USERS_FILE_VARIABLE])
    proxies = int(os.environ.get(mlflowops_auth.PROXIES_VARIABLE) or mlflowops_auth.TRUSTED_PROXIES)
    return mlflowops_auth.BasicAuth(Recorder(), mlflowops_auth.Verifier(users), trusted_proxies=proxies)
