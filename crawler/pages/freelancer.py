"""Freelancer.com page objects on its public JSON API: project lists, one project, one user (buyers' side).

The envelope `{"status", "result": {"projects": [...]}}` was not checked against a live reply:
both `result.projects` and a bare `projects` are read, and a single project may sit in `result` or at the top."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urljoin

from crawler.items import Listing, Seller, utc_now
from crawler.pages.common import canonical_url, clean_text, dig, first, html_to_text, to_float, to_int

MARKETPLACE = "freelancer"
API = "/api/projects/0.1/projects"
DETAILS = {"full_description": "true", "job_details": "true"}


@dataclass
class ProjectPage:
    projects: list[dict] = field(default_factory=list)
    total: int | None = None


def search_url(base_url: str, query: str, limit: int, offset: int = 0) -> str:
    params = {"query": query, "limit": str(limit), "offset": str(offset), **DETAILS}
    return urljoin(base_url + "/", f"{API.lstrip('/')}/active/?" + urlencode(params))


def project_api_url(base_url: str, project_id: str | int) -> str:
    return urljoin(base_url + "/", f"{API.lstrip('/')}/{project_id}/?" + urlencode(DETAILS))


def user_api_url(base_url: str, user_id: str | int) -> str:
    return urljoin(base_url + "/", f"api/users/0.1/users/{user_id}/")


def loads(body: str | bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def parse_projects(data: Any) -> ProjectPage:
    if not isinstance(data, dict):
        return ProjectPage()
    result = data.get("result") if isinstance(data.get("result"), dict) else data
    projects = result.get("projects")
    if not isinstance(projects, list):
        projects = data.get("projects") if isinstance(data.get("projects"), list) else []
    return ProjectPage(projects=[p for p in projects if isinstance(p, dict) and p.get("id") is not None],
                       total=to_int(first(result.get("total_count"), data.get("total_count"))))


def project_of(data: Any) -> dict | None:
    """The project object of a one-project reply (in `result`, or the reply itself)."""
    if not isinstance(data, dict):
        return None
    obj = data.get("result") if isinstance(data.get("result"), dict) else data
    return obj if obj.get("id") is not None else None


def project_url(base_url: str, project: dict) -> str:
    seo = clean_text(project.get("seo_url")).strip("/")
    return canonical_url(urljoin(base_url + "/", f"projects/{seo or project['id']}"))


def _epoch(value: Any) -> str | None:
    seconds = to_float(value)
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_project(project: dict, base_url: str) -> Listing | None:
    """A buyer's project as a listing: the owner is the account a lead would name."""
    owner = project.get("owner_id")
    title = clean_text(project.get("title")).strip()
    if owner is None or not title:
        return None
    budget = project.get("budget") if isinstance(project.get("budget"), dict) else {}
    currency = project.get("currency")
    code = currency.get("code") if isinstance(currency, dict) else currency
    jobs = [clean_text(j.get("name")) for j in project.get("jobs") or [] if isinstance(j, dict) and j.get("name")]
    return Listing(
        marketplace=MARKETPLACE, listing_id=str(project["id"]), url=project_url(base_url, project),
        seller_id=str(owner), title=title,
        # Descriptions are plain text with line breaks, sometimes HTML.
        description=html_to_text(clean_text(first(project.get("description"), project.get("preview_description"))) or ""),
        tags=jobs, price=to_float(first(budget.get("minimum"), budget.get("maximum"))),
        currency=clean_text(code) or "USD", category=jobs[0] if jobs else None,
        rating_count=to_int(dig(project, "bid_stats", "bid_count")),
        fetched_at=utc_now(), side="buyer",
    )


def parse_user(data: Any, base_url: str) -> Seller | None:
    user = project_of(data)
    if user is None:
        return None
    username = clean_text(user.get("username")).strip()
    return Seller(
        marketplace=MARKETPLACE, seller_id=str(user["id"]),
        profile_url=canonical_url(urljoin(base_url + "/", f"u/{username}")) if username else canonical_url(
            user_api_url(base_url, user["id"])),
        display_name=first(clean_text(user.get("display_name")).strip(), username or None),
        country=first(dig(user, "location", "country", "name"), None),
        member_since=_epoch(user.get("registration_date")),
        level=first(user.get("role"), None),
    )
