"""The `turfwatch clusters` command: rebuild seller clusters and show each link's reason."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import click

from crawler.clusters import DEFAULT_THRESHOLD, SCOPES, Cluster, build_clusters, save_clusters
from crawler.formats import terminal_safe
from crawler.options import db_option, open_store



def clusters_table(clusters: list[Cluster]) -> str:
    if not clusters:
        return "No clusters.\n"
    lines = []
    for cluster in clusters:
        lines.append(f"Cluster {cluster.id}  score {cluster.score:.2f}  {cluster.size} sellers")
        for m in cluster.members:
            lead = f"lead {m.lead_status} {m.lead_score:.2f}" if m.is_lead else "not a lead"
            name = f"  ({terminal_safe(m.display_name, 30)})" if m.display_name else ""
            lines.append(f"  {terminal_safe(m.marketplace, 12)}:{terminal_safe(m.seller_id, 32):<32} {lead}{name}")
        lines.append("  links:")
        for link in cluster.links:
            pair = f"{terminal_safe(link.a[0])}:{terminal_safe(link.a[1])} — {terminal_safe(link.b[0])}:{terminal_safe(link.b[1])}"
            lines.append(f"    {pair}: {terminal_safe(link.reason, 400)}")
        lines.append("")
    return "\n".join(lines)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def clusters_json(clusters: list[Cluster]) -> str:
    """JSON that is still safe on a terminal: json.dumps escapes C0 controls only, so
    bidi overrides and other invisible characters are escaped here (inside strings,
    the only place they can be, an escape is the same JSON value)."""
    text = json.dumps([c.as_dict() for c in clusters], ensure_ascii=False, indent=2)
    return "".join(_escape(ch) if ch != "\n" and unicodedata.category(ch)[0] == "C" else ch for ch in text) + "\n"


@click.command("clusters")
@db_option()
@click.option("--scope", type=click.Choice(SCOPES), default="leads", show_default=True,
              help="leads: clusters holding at least one lead; all: every cluster.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Estimated Jaccard similarity from which two listing texts link.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def clusters(db_path: Path, scope: str, threshold: float, fmt: str) -> None:
    """Rebuild clusters of sellers that look like one operation and list them with the reason for every link."""
    with open_store(db_path, read_only=False) as store:
        found = build_clusters(store, scope=scope, threshold=threshold)
        save_clusters(store, found)
    click.echo(clusters_table(found) if fmt == "table" else clusters_json(found), nl=False)
