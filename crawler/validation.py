"""Spidermon item validation without its per-item set-up costs; same checks, same messages, same stats keys.

Spidermon's JSONSchemaValidator builds a new jsonschema validator (and its reference resolver) for every item,
its pipeline converts each item with itemadapter's generic recursive asdict (which asks every item adapter
about every string of every list), and its stats manager slugifies the same few stats names for every item.
Here the jsonschema validator is built once per schema, the conversion takes a fast path for plain JSON values
and the slugified names are cached; everything else is Spidermon's own code (spidermon 1.27). An item that
`error_free_check` vouches for (the schema's keywords tested with plain functions) skips jsonschema: it has
no errors to report. Every other item goes through jsonschema, which finds and words its errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from itemadapter import ItemAdapter
from jsonschema import validators as jsonschema_validators
from jsonschema.validators import validator_for
from spidermon.contrib.scrapy.pipelines import ItemValidationPipeline
from spidermon.contrib.scrapy.stats import ValidationStatsManager
from spidermon.contrib.validation import JSONSchemaValidator
from spidermon.contrib.validation.jsonschema.formats import format_checker
from spidermon.contrib.validation.jsonschema.validator import REQUIRED_RE

_LEAVES = frozenset({str, int, float, bool, type(None)})


Check = Callable[[Any], bool]


def error_free_check(schema: Any, validator_cls: type) -> Check | None:
    """A predicate that answers True only for instances in which `validator_cls` (a jsonschema validator class)
    finds no error against `schema`; None when the schema uses a keyword it does not know.

    jsonschema walks a schema with a new validator object for every property and list element it descends
    into; for a valid listing that is most of the time validation takes. This walks it with plain functions,
    keyword by keyword as jsonschema's own keyword functions do (jsonschema/_keywords.py, types from the
    validator's own TYPE_CHECKER). It only ever vouches for an instance: on False the caller runs jsonschema,
    which gives the errors and their messages, so a False where there is no error costs time, never a count.
    """
    try:
        return _compile(schema, validator_cls, _TypePredicates(validator_cls.TYPE_CHECKER))
    except _Unsupported:
        return None


class _Unsupported(Exception):
    """The schema uses something the fast path does not check."""


class _TypePredicates:
    """One-argument type tests with the semantics of a jsonschema TypeChecker."""

    def __init__(self, checker):
        self.checker = checker
        # The table TypeChecker.is_type looks type names up in; calling its functions directly saves is_type's
        # own lookup per call. Without it (another jsonschema), is_type itself.
        self.table = getattr(checker, "_type_checkers", None)
        self.cache: dict[str, Check] = {}

    def __call__(self, name: Any) -> Check:
        if not isinstance(name, str):
            raise _Unsupported(name)
        if name not in self.cache:
            try:
                self.checker.is_type(None, name)  # an unknown name raises here, not per item
            except Exception as exc:  # noqa: BLE001 - jsonschema's UndefinedTypeCheck
                raise _Unsupported(name) from exc
            if self.table is not None and name in self.table:
                self.cache[name] = partial(self.table[name], self.checker)
            else:
                self.cache[name] = partial(self.checker.is_type, type=name)
        return self.cache[name]


def _compile(schema: Any, validator_cls: type, is_a: _TypePredicates) -> Check:
    if schema is True:
        return lambda instance: True
    if not isinstance(schema, dict):
        raise _Unsupported(schema)
    if "$schema" in schema and jsonschema_validators.validator_for(schema, default=validator_cls) is not validator_cls:
        raise _Unsupported("$schema")  # a subschema in another dialect: jsonschema switches validator class there
    keywords = [k for k in schema if k in validator_cls.VALIDATORS]  # the rest ($schema, $id, title, ...) annotates
    if not set(keywords) <= _KEYWORDS:
        raise _Unsupported(set(keywords) - _KEYWORDS)
    checks = [_keyword_check(k, schema[k], schema, validator_cls, is_a) for k in keywords]
    if len(checks) == 1:
        return checks[0]

    def check(instance) -> bool:
        for one in checks:
            if not one(instance):
                return False
        return True
    return check


_KEYWORDS = frozenset({"type", "properties", "required", "items", "minLength", "maxLength", "maxItems", "minimum",
                       "maximum", "pattern", "enum"})


def _limit(value: Any, *kinds: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _Unsupported(value)
    return value


def _keyword_check(keyword: str, value: Any, schema: dict, validator_cls: type, is_a: _TypePredicates) -> Check:
    """The test of one keyword, as its function in jsonschema/_keywords.py decides."""
    if keyword == "type":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            raise _Unsupported(value)
        tests = [is_a(name) for name in names]
        if len(tests) == 1:
            return tests[0]
        return lambda instance: any(test(instance) for test in tests)
    if keyword == "properties":
        if not isinstance(value, dict):
            raise _Unsupported(value)
        is_object = is_a("object")
        subchecks = [(name, _compile(subschema, validator_cls, is_a)) for name, subschema in value.items()]

        def properties(instance) -> bool:
            if not is_object(instance):
                return True
            for name, subcheck in subchecks:
                if name in instance and not subcheck(instance[name]):
                    return False
            return True
        return properties
    if keyword == "required":
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise _Unsupported(value)
        is_object = is_a("object")
        return lambda instance: not is_object(instance) or all(name in instance for name in value)
    if keyword == "items":
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        is_array, subcheck = is_a("array"), _compile(value, validator_cls, is_a)

        def items(instance) -> bool:
            if not is_array(instance):
                return True
            for item in instance:
                if not subcheck(item):
                    return False
            return True
        return items
    if keyword in ("minLength", "maxLength", "maxItems"):
        limit, is_sized = _limit(value, int), is_a("array" if keyword == "maxItems" else "string")
        if keyword == "minLength":
            return lambda instance: not is_sized(instance) or not len(instance) < limit
        return lambda instance: not is_sized(instance) or not len(instance) > limit
    if keyword in ("minimum", "maximum"):
        limit, is_number = _limit(value, int, float), is_a("number")
        if keyword == "minimum":
            return lambda instance: not is_number(instance) or not instance < limit
        return lambda instance: not is_number(instance) or not instance > limit
    if keyword == "pattern":
        search, is_string = re.compile(_limit(value, str)).search, is_a("string")  # jsonschema: re.search(...)
        return lambda instance: not is_string(instance) or search(instance) is not None
    if keyword == "enum":
        # Strings only: jsonschema's equal() compares a string to anything with ==, never equal to a non-string.
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Unsupported(value)
        allowed = frozenset(value)
        return lambda instance: isinstance(instance, str) and instance in allowed
    raise _Unsupported(keyword)


class ReusedJSONSchemaValidator(JSONSchemaValidator):
    """A JSONSchemaValidator whose jsonschema validator is built once, with the schema, not once per item,
    and that skips jsonschema for an item `error_free_check` vouches for.

    jsonschema validators keep no state between `iter_errors` calls (they are immutable; the resolver they
    build for `$ref`s only caches the schema's own resources), so one serves every item."""

    def __init__(self, schema, translator=None, use_default_translator=True):
        super().__init__(schema, translator=translator, use_default_translator=use_default_translator)
        validator_cls = validator_for(schema)
        self._jsonschema_validator = validator_cls(schema=schema, format_checker=format_checker)
        self._error_free = error_free_check(schema, validator_cls) or (lambda instance: False)

    def _validate(self, data, strict=False):
        if self._error_free(data):
            return
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
