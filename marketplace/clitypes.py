"""click parameter types: the CLI reads its arguments into typed values before any service
is called (the pages do the same with form fields, the API with its body reader)."""

import click

from marketplace.parsing import parse_day


class Day(click.ParamType):
    """A calendar day written YYYY-MM-DD, as a ``date``."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value  # a default given as a date
        try:
            return parse_day(value)
        except ValueError:
            self.fail(f"{value!r} is not a day written YYYY-MM-DD", param, ctx)


DAY = Day()
