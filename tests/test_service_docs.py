"""The service's docs as a reader air-gapped sees them: pages and assets served by the service
itself, an Authorize button, descriptions that render, the spec's examples."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
from loopback import ServiceThread

from tools.reid.remote.wire import SPEC_CALLBACK, SPEC_IMAGE_REQ, SPEC_VIDEO_REQUEST

pytest_plugins = ["service_fixtures"]

ASSET = re.compile(r'(?:src|href)="([^"]+)"')
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)


def test_docs_pages_and_their_assets_come_from_the_service(service: ServiceThread) -> None:
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        pages = {"/docs": ("swagger-ui-bundle.js", "SwaggerUIBundle"), "/redoc": ("redoc.standalone.js", "Redoc")}
        for page, (script, defines) in pages.items():
            html = http.get(page)
            assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
            assert "http://" not in html.text and "https://" not in html.text, f"{page} links outside"
            assets = ASSET.findall(html.text)
            for asset in assets:
                served = http.get(asset)
                assert served.status_code == 200 and served.content, asset
            [bundle] = [asset for asset in assets if asset.endswith(script)]
            assert defines in http.get(bundle).text
        swagger = http.get("/docs").text
        assert "openapi.json" in swagger
        assert '"validatorUrl": null' in swagger, "Swagger UI would fetch a validator badge from swagger.io"


def test_the_api_key_is_a_security_scheme_on_the_api_routes(service: ServiceThread) -> None:
    schema = httpx.get(f"{service.base_url}/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["APIKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    secured = {path for path, ops in schema["paths"].items() for op in ops.values() if op.get("security")}
    assert secured == {
        "/v1/understand/upload",
        "/v1/understand/uploadImg",
        "/v1/understand/tasks/{task_id}",
        "/v1/understand/tasks/{task_id}/timeline.png",
        "/v1/people",
        "/v1/people/{name}",
        "/v1/people/{name}/thumbnails/{number}",
        "/v1/audit",
    }


def test_no_description_holds_html_outside_code(service: ServiceThread) -> None:
    """Swagger UI renders descriptions as Markdown, where a bare ``<key>`` is an HTML tag and vanishes."""
    schema = httpx.get(f"{service.base_url}/openapi.json").json()
    descriptions = list(_descriptions(schema))
    assert any("<key>" in text for text in descriptions)
    for text in descriptions:
        assert not re.search(r"<[A-Za-z]", CODE_SPAN.sub("", text)), text


def test_routes_have_tags_and_the_spec_examples(service: ServiceThread) -> None:
    schema = httpx.get(f"{service.base_url}/openapi.json").json()
    paths, models = schema["paths"], schema["components"]["schemas"]
    assert paths["/v1/understand/upload"]["post"]["tags"] == ["hosted API"]
    assert paths["/v1/understand/uploadImg"]["post"]["tags"] == ["hosted API"]
    assert paths["/v1/understand/tasks/{task_id}"]["get"]["tags"] == ["extensions"]
    assert [tag["name"] for tag in schema["tags"]] == ["hosted API", "extensions", "gallery (extension)"]
    assert paths["/v1/people"]["post"]["tags"] == ["gallery (extension)"]
    assert models["VideoRequest"]["examples"] == [SPEC_VIDEO_REQUEST]
    assert models["CallbackPayload"]["examples"] == [SPEC_CALLBACK]
    form = paths["/v1/understand/uploadImg"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert json.loads(form["schema"]["properties"]["req"]["examples"][0]) == SPEC_IMAGE_REQ


def test_the_image_answer_is_typed(service: ServiceThread) -> None:
    schema = httpx.get(f"{service.base_url}/openapi.json").json()
    models = schema["components"]["schemas"]
    answer = schema["paths"]["/v1/understand/uploadImg"]["post"]["responses"]["200"]["content"]["application/json"]
    envelope = models[answer["schema"]["$ref"].rsplit("/", 1)[1]]
    data = {ref["$ref"].rsplit("/", 1)[1] for ref in envelope["properties"]["data"]["anyOf"] if "$ref" in ref}
    assert data == {"ResultWithTokens", "TaskAccepted"}
    assert {"text", "token", "persons", "media", "unknown_faces"} <= set(models["ResultWithTokens"]["properties"])


def _descriptions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _descriptions(item)
