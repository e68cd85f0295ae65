"""nova-api's side of the cascade, for the lab: a stand-in, not nova.

What is real: the keystoneauth1 session and adapter nova uses to reach neutron (endpoint_override
to the neutron URL), the ConnectFailure it raises when nothing listens on 9696, and oslo.log writing
/var/log/nova/nova-api.log in the default oslo.log format with a request context.
What is not: the WSGI frame around it. nova's ResourceExceptionHandler logs
"Unexpected exception in API method" with the traceback and answers HTTP 500 with its
"Unexpected API Error" body; nova's FaultWrapper logs "<url> returned with HTTP <status>" and its
request log middleware the access line. This file reproduces those three messages with nova's logger
names and nova's wording, so the log reads as nova-api's would; the traceback's frames are this file's.

Serves 127.0.0.1:8774. GET /v2.1/os-security-groups (a proxy API of nova that asks neutron) and
GET /v2.1/servers/detail are the calls Horizon's instance list makes through nova.
"""

from __future__ import annotations

import json
import time
import uuid
from wsgiref.simple_server import WSGIRequestHandler, make_server

from keystoneauth1 import adapter, session
from oslo_config import cfg
from oslo_context import context
from oslo_log import log as logging

CONF = cfg.CONF
logging.register_options(CONF)
CONF(["--log-file", "/var/log/nova/nova-api.log"], project="nova")
logging.setup(CONF, "nova")
LOG_WSGI = logging.getLogger("nova.api.openstack.wsgi")
LOG_FAULT = logging.getLogger("nova.api.openstack")
LOG_REQ = logging.getLogger("nova.api.openstack.requestlog")

NEUTRON_URL = "http://127.0.0.1:9696"
# Dummy lab identities, as a noauth2 nova would see them.
USER, PROJECT = "admin", "6f70656e737461636b2d6c6162"
SUPPORT = ("Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach "
           "the Nova API log if possible.\n")


def neutron() -> adapter.Adapter:
    # nova.network.neutron.get_client: a keystoneauth1 session, service_type network, endpoint_override.
    return adapter.Adapter(session.Session(), service_type="network", interface="internal",
                           endpoint_override=NEUTRON_URL)


def list_security_groups(ctx: context.RequestContext) -> dict[str, object]:
    resp = neutron().get(f"/v2.0/security-groups?tenant_id={ctx.project_id}", raise_exc=True)
    return {"security_groups": resp.json().get("security_groups", [])}


def list_servers(ctx: context.RequestContext) -> dict[str, object]:
    # Building each server's addresses needs neutron's ports of the project.
    neutron().get(f"/v2.0/ports?tenant_id={ctx.project_id}", raise_exc=True)
    return {"servers": []}


ROUTES = {"/v2.1/os-security-groups": list_security_groups, "/v2.1/servers/detail": list_servers}


def app(environ: dict[str, object], start_response):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    path = str(environ.get("PATH_INFO", "/"))
    url = f"http://127.0.0.1:8774{path}"
    ctx = context.RequestContext(user_id=USER, project_id=PROJECT, request_id=f"req-{uuid.uuid4()}")
    handler = ROUTES.get(path)
    if handler is None:
        status, body = 404, {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
    else:
        try:
            status, body = 200, handler(ctx)
        except Exception as exc:  # noqa: BLE001 - nova turns any unexpected exception into a 500
            LOG_WSGI.exception("Unexpected exception in API method", context=ctx)
            status = 500
            body = {"computeFault": {"code": 500, "message": SUPPORT + str(type(exc))}}
            LOG_FAULT.info("%(url)s returned with HTTP %(status)d", {"url": url, "status": status},
                           context=ctx)
    data = json.dumps(body).encode()
    LOG_REQ.info('127.0.0.1 "GET %(path)s" status: %(status)s len: %(len)s microversion: 2.1 time: %(t).6f',
                 {"path": path, "status": status, "len": len(data), "t": time.monotonic() - start},
                 context=ctx)
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("x-openstack-request-id", ctx.request_id)])
    return [data]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class's name
        pass  # the request log above is the access log


if __name__ == "__main__":
    make_server("127.0.0.1", 8774, app, handler_class=QuietHandler).serve_forever()
