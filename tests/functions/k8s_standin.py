"""A stand-in for the Kubernetes API: real HTTP, canned responses in the API's own shapes.

Not a cluster: hand-written PodList/NodeList/... documents (the shapes of the
core/v1, apps/v1, batch/v1 and serving.knative.dev/v1 APIs) for the paths the
cluster operator reads, and a recorder for everything asked, so tests can prove
what was (and was not) called. The real ``kubernetes`` client talks to it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

META = {"resourceVersion": "1"}
POD = {
    "metadata": {"name": "web-7d9f", "namespace": "default"},
    "spec": {"nodeName": "pi-1", "containers": [{"name": "web", "image": "nginx"}]},
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "web",
                "ready": False,
                "restartCount": 7,
                "image": "nginx",
                "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    },
}
RESPONSES = {
    "/api/v1/namespaces/default/pods": {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": META,
        "items": [POD],
    },
    "/api/v1/nodes": {
        "kind": "NodeList",
        "apiVersion": "v1",
        "metadata": META,
        "items": [
            {
                "metadata": {"name": "pi-1"},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "allocatable": {"memory": "3800Mi", "cpu": "4"},
                    "nodeInfo": {
                        "architecture": "arm64",
                        "bootID": "",
                        "containerRuntimeVersion": "",
                        "kernelVersion": "",
                        "kubeProxyVersion": "",
                        "kubeletVersion": "",
                        "machineID": "",
                        "operatingSystem": "linux",
                        "osImage": "",
                        "systemUUID": "",
                    },
                },
            }
        ],
    },
    "/api/v1/namespaces/default/events": {
        "kind": "EventList",
        "apiVersion": "v1",
        "metadata": META,
        "items": [
            {
                "metadata": {"name": "e1"},
                "type": "Warning",
                "reason": "BackOff",
                "message": "Back-off restarting failed container",
                "involvedObject": {"kind": "Pod", "name": "web-7d9f"},
            }
        ],
    },
    "/apis/apps/v1/namespaces/default/deployments": {
        "kind": "DeploymentList",
        "apiVersion": "apps/v1",
        "metadata": META,
        "items": [
            {
                "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"readyReplicas": 1},
            }
        ],
    },
    "/apis/serving.knative.dev/v1/namespaces/default/services": {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "ServiceList",
        "items": [
            {
                "metadata": {"name": "code-reviewer-agno"},
                "status": {
                    "url": "http://code-reviewer-agno.default.example.com",
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }
        ],
    },
    "/api/v1/namespaces/default/pods/web-7d9f/log": "boom: config file missing\n",
    "/apis/batch/v1/namespaces/default/jobs/worker-1/status": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "worker-1", "namespace": "default"},
        "spec": {"template": {}},
        "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
    },
}


class KubernetesStandIn:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.jobs: dict[str, dict] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, payload: object) -> None:
                body = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                stand_in.requests.append(("GET", path, b""))
                if path in RESPONSES:
                    self._answer(200, RESPONSES[path])
                elif path.removesuffix("/status") in stand_in.jobs:
                    self._answer(200, stand_in.jobs[path.removesuffix("/status")])
                else:
                    self._answer(
                        404,
                        {
                            "kind": "Status",
                            "status": "Failure",
                            "code": 404,
                            "reason": "NotFound",
                            "message": f"{path} not found",
                        },
                    )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                stand_in.requests.append(("POST", path, body))
                job = json.loads(body)
                where = f"{path}/{job['metadata']['name']}"
                if where in stand_in.jobs:
                    message = f'jobs.batch "{job["metadata"]["name"]}" already exists'
                    status = {"kind": "Status", "code": 409, "reason": "AlreadyExists"}
                    self._answer(409, {**status, "status": "Failure", "message": message})
                    return
                # a recorded outcome: every Job created here has completed once read back
                job["status"] = {
                    "succeeded": 1,
                    "conditions": [{"type": "Complete", "status": "True"}],
                }
                stand_in.jobs[where] = job
                self._answer(201, job)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def api_client(self):
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def kubeconfig(self, directory: Path) -> Path:
        path = directory / "kubeconfig"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "standin",
                    "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
                    "users": [{"name": "u", "user": {"token": "t"}}],
                    "contexts": [
                        {"name": "standin", "context": {"cluster": "standin", "user": "u"}}
                    ],
                }
            )
        )
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
