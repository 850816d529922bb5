"""Built-in demo marketplace: a local Fiverr-shaped site with its own ground truth."""

from crawler.demo.content import Catalog, load_catalog
from crawler.demo.server import DemoMarketplace
from crawler.demo.truth import GroundTruth, load_truth

__all__ = ["Catalog", "DemoMarketplace", "GroundTruth", "load_catalog", "load_truth"]
