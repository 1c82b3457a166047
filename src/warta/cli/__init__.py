"""``warta`` command line: serve, migrate, demo, and agency/key/template administration.

Every command builds one Settings from the environment and one Warta through
``bootstrap`` (``cli/common.py``); each module holds one area's commands.
"""

from __future__ import annotations

import click

from warta.cli import agencies, cases, celery, chatbot, people, platform, server


@click.group()
@click.version_option(package_name="warta")
def main() -> None:
    """Warta: public-service notifications for Indonesia (GOV.UK Notify v2 API)."""


main.add_command(server.serve)
main.add_command(server.worker)
main.add_command(celery.beat)
main.add_command(server.migrate)
main.add_command(server.demo)
main.add_command(agencies.agency)
main.add_command(agencies.key)
main.add_command(agencies.template)
main.add_command(people.staff)
main.add_command(people.citizen)
main.add_command(platform.keys)
main.add_command(platform.channel)
main.add_command(cases.service)
main.add_command(cases.open311)
main.add_command(chatbot.chatbot)
