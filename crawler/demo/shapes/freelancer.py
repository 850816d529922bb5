"""Freelancer.com-shaped public JSON API: active projects by query, one project, one user.

Field names follow marketplaces.md; the `{"status", "result": {"projects"}}` envelope is the
unverified nesting, served here so the spider is tested on it (it also accepts a bare `projects`)."""

from __future__ import annotations

from crawler.demo.generate import slugify
from crawler.demo.shapes.catalog import ShapeCatalog
from crawler.demo.shapes.web import ROBOTS, Reply, as_json, document, esc, int_arg, not_found, ok, paragraphs

EPOCH = 1_767_225_600  # 2026-01-01


def project(cat: ShapeCatalog, item: dict) -> dict:
    acc = cat.accounts[item["account"]]
    price = item["price"]
    return {
        "id": item["id"], "owner_id": acc["numeric_id"], "title": item["title"], "status": "active",
        "seo_url": f"{item['category']}/{slugify(item['title'], 50)}-{item['id']}",
        "preview_description": item["description"][:150], "description": item["description"],
        "currency": {"code": "USD", "sign": "$"}, "budget": {"minimum": price, "maximum": price * 3},
        "jobs": [{"id": 100 + n, "name": tag} for n, tag in enumerate(item["tags"])],
        "bid_stats": {"bid_count": item["id"] % 37, "bid_avg": price * 2},
        "time_submitted": EPOCH + (item["id"] % 100_000) * 60, "type": "fixed",
    }


def user(acc: dict) -> dict:
    return {"id": acc["numeric_id"], "username": acc["name"], "display_name": acc["display_name"],
            "location": {"country": {"name": acc["country"]}}, "role": "employer",
            "registration_date": EPOCH - 86_400 * (acc["numeric_id"] % 2000)}


def route(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if segments == ["robots.txt"]:
        return ok(ROBOTS, "text/plain; charset=utf-8")
    api = segments[:3]
    if api == ["api", "projects", "0.1"] and segments[3:5] == ["projects", "active"]:
        hits = cat.search(qs.get("query", [""])[0])
        limit = min(100, max(1, int_arg(qs, "limit", 20)))
        offset = int_arg(qs, "offset", 0)
        page = hits[offset:offset + limit]
        return as_json({"status": "success", "result": {"projects": [project(cat, i) for i in page],
                                                        "total_count": len(hits)}})
    if api == ["api", "projects", "0.1"] and len(segments) == 5 and segments[3] == "projects" and segments[4].isdigit():
        item = cat.by_id.get(int(segments[4]))
        if item:
            return as_json({"status": "success", "result": project(cat, item)})
        return as_json({"status": "error", "message": "NOT_FOUND"}, 404)
    if api == ["api", "users", "0.1"] and len(segments) == 5 and segments[3] == "users" and segments[4].isdigit():
        acc = cat.by_numeric_id.get(int(segments[4]))
        if acc:
            return as_json({"status": "success", "result": user(acc)})
        return as_json({"status": "error", "message": "NOT_FOUND"}, 404)
    if segments[:1] == ["projects"] and segments[-1:] and segments[-1].rsplit("-", 1)[-1].isdigit():
        item = cat.by_id.get(int(segments[-1].rsplit("-", 1)[-1]))
        if item:
            return ok(document(item["title"], f"<h1>{esc(item['title'])}</h1>{paragraphs(item['description'])}"))
    if not segments:
        return ok(document("Freelancer demo", "<p>API at /api/projects/0.1/projects/active/</p>"))
    return not_found()
