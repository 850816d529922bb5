"""Spidermon item validation without its per-item set-up costs; same checks, same messages, same stats keys.

Spidermon's JSONSchemaValidator builds a new jsonschema validator (and its reference resolver) for every item,
its pipeline converts each item with itemadapter's generic recursive asdict (which asks every item adapter
about every string of every list), and its stats manager slugifies the same few stats names for every item.
Here the jsonschema validator is built once per schema, the conversion takes a fast path for plain JSON values
and the slugified names are cached; everything else is Spidermon's own code (spidermon 1.27).
"""

from __future__ import annotations

from functools import lru_cache

from itemadapter import ItemAdapter
from jsonschema.validators import validator_for
from spidermon.contrib.scrapy.pipelines import ItemValidationPipeline
from spidermon.contrib.scrapy.stats import ValidationStatsManager
from spidermon.contrib.validation import JSONSchemaValidator
from spidermon.contrib.validation.jsonschema.formats import format_checker
from spidermon.contrib.validation.jsonschema.validator import REQUIRED_RE

_LEAVES = frozenset({str, int, float, bool, type(None)})


class ReusedJSONSchemaValidator(JSONSchemaValidator):
    """A JSONSchemaValidator whose jsonschema validator is built once, with the schema, not once per item.

    jsonschema validators keep no state between `iter_errors` calls (they are immutable; the resolver they
    build for `$ref`s only caches the schema's own resources), so one serves every item."""

    def __init__(self, schema, translator=None, use_default_translator=True):
        super().__init__(schema, translator=translator, use_default_translator=use_default_translator)
        self._jsonschema_validator = validator_for(schema)(schema=schema, format_checker=format_checker)

    def _validate(self, data, strict=False):
        # The loop of JSONSchemaValidator._validate, on the prebuilt validator.
        for error in self._jsonschema_validator.iter_errors(data):
            absolute_path = list(error.absolute_path)
            required_match = REQUIRED_RE.search(error.message)
            if required_match:
                absolute_path.append(required_match.group(1))
            field_name = ".".join([str(p) for p in absolute_path])
            self._add_errors({field_name: [error.message]})


class CachedNamesStatsManager(ValidationStatsManager):
    """The same stats keys; each name part is slugified once per run instead of once per item."""

    def __init__(self, stats, prefix=None, slugify=True):
        super().__init__(stats, prefix=prefix, slugify=slugify)
        self._get_name = lru_cache(maxsize=1024)(self._get_name)


def plain(value):
    """itemadapter's `ItemAdapter._asdict(value)`, with a fast path for JSON values.

    Exact str/int/float/bool/None, list and dict are what item fields hold; for them the result is the one
    itemadapter gives (leaves as they are, lists and dicts copied recursively). Anything else (nested items,
    tuples, sets, subclasses) goes to itemadapter itself."""
    cls = value.__class__
    if cls in _LEAVES:
        return value
    if cls is list:
        return [plain(v) for v in value]
    if cls is dict:
        return {k: plain(v) for k, v in value.items()}
    return ItemAdapter._asdict(value)


class ValidationPipeline(ItemValidationPipeline):
    """Spidermon's ItemValidationPipeline (SPIDERMON_VALIDATION_* settings, stats, monitors) on a reused
    jsonschema validator."""

    def __init__(self, validators, stats, *args, **kwargs):
        super().__init__(validators, stats, *args, **kwargs)
        # After the parent registered the validators through its own manager: same keys either way.
        self.stats = CachedNamesStatsManager(stats)

    @classmethod
    def _load_jsonschema_validator(cls, schema):
        validator = super()._load_jsonschema_validator(schema)  # loads and checks the schema as Spidermon does
        return ReusedJSONSchemaValidator(validator._schema)

    def process_item(self, item, spider=None):
        # ItemValidationPipeline.process_item, with `plain` for ItemAdapter.asdict's recursion.
        validators = self.find_validators(item)
        if not validators:
            return item

        item_adapter = ItemAdapter(item)
        item_dict = {key: plain(value) for key, value in item_adapter.items()}
        self.stats.add_item()
        self.stats.add_fields(len(item_dict.keys()))
        for validator in validators:
            ok, errors = validator.validate(item_dict)
            if not ok:
                self._add_error_stats(errors)
                if self.add_errors_to_items:
                    self._add_errors_to_item(item_adapter, errors)
                if self.drop_items_with_errors:
                    self._drop_item(item, errors)
        return item
