"""`python -m crawler.flagging`: the flagging commands without the main CLI."""
import click

from .commands import flag, rules


@click.group()
def main() -> None:
    """turfwatch flagging commands."""


main.add_command(flag)
main.add_command(rules)

if __name__ == "__main__":
    main()
